package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/plugvisor/plugvisor/internal/sandbox"
	"github.com/plugvisor/plugvisor/registry"
)

// sandboxSpec is what a sandboxed plugin may reach: what any program needs
// to start, what its configuration lists, its own directory, and, for a
// script, its verified interpreter and the verified copy it reads.
// Connecting to the plugin socket needs no rule: Landlock does not govern
// connecting to a named Unix socket.
func sandboxSpec(p *registry.Plugin, exe *registry.Executable, dir string) sandbox.Spec {
	s := sandbox.Base()
	s.ReadOnly = append(s.ReadOnly, p.Sandbox.ReadOnly...)
	if exe.Interpreter != "" {
		s.ReadOnly = append(s.ReadOnly, exe.Interpreter)
		// The verified copy by its real path, which interpreters such as
		// Node.js open again.
		if copyPath, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", exe.File.Fd())); err == nil {
			s.ReadOnly = append(s.ReadOnly, copyPath)
		}
	}
	s.ReadWrite = append(append(s.ReadWrite, dir), p.Sandbox.ReadWrite...)
	s.TCPConnect = append(s.TCPConnect, p.Sandbox.TCPConnect...)
	s.TCPBind = append(s.TCPBind, p.Sandbox.TCPBind...)
	return s
}

// describe is how plugins are contained here, a line per feature, for
// Info, `plugvisor check` and the log.
func (l *launcher) describe() []string {
	return append(l.contain.describe(), "sandbox: "+sandbox.Probe().String())
}

// checkSandboxPaths refuses a configured sandbox path with a directory
// above it that the plugin's user could write: the rules are made anew at
// each home by opening the paths as the supervisor, following links, so a
// plugin that could replace a path's parent entry with a link would be
// granted what the link names (/, say) the next time.
func checkSandboxPaths(p *registry.Plugin) error {
	uid, gid := credOf(p)
	for _, path := range append(append([]string(nil), p.Sandbox.ReadOnly...), p.Sandbox.ReadWrite...) {
		for entry := filepath.Clean(path); entry != filepath.Dir(entry); entry = filepath.Dir(entry) {
			d := filepath.Dir(entry)
			st, err := os.Stat(d)
			if err != nil || !canReplace(st, entry, uid, gid) {
				continue
			}
			return fmt.Errorf("sandbox path %s: %s (mode %s) lets the plugin's user (uid %d) replace %s: it could put a link there and be granted what the link names",
				path, d, st.Mode(), uid, filepath.Base(entry))
		}
	}
	return nil
}

// canReplace says whether uid (with primary group gid) may create or
// replace entry in its directory, which st describes. In a sticky
// directory (/tmp) it may replace only its own entries, and create one
// that does not exist.
func canReplace(st os.FileInfo, entry string, uid, gid int) bool {
	sys := st.Sys().(*syscall.Stat_t)
	perm := st.Mode().Perm()
	var writable bool
	switch {
	case int(sys.Uid) == uid:
		writable = perm&0o200 != 0
	case int(sys.Gid) == gid:
		writable = perm&0o020 != 0
	default:
		writable = perm&0o002 != 0
	}
	if !writable || st.Mode()&os.ModeSticky == 0 {
		return writable
	}
	est, err := os.Lstat(entry)
	return err != nil || int(est.Sys().(*syscall.Stat_t).Uid) == uid
}
