package supervisor

import (
	"fmt"
	"os"

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
