package registry

import (
	"os"
	"path/filepath"
	"slices"
)

// Sandbox is a plugin's [plugins.<name>.sandbox] table, or a manifest's
// [sandbox]: what the plugin may reach once started. The table's presence
// turns the sandbox on, even empty; then the plugin reaches nothing beyond
// what the supervisor grants every sandboxed plugin so that it can start.
type Sandbox struct {
	// ReadOnly (read_only) may be read and executed, ReadWrite
	// (read_write) also written, created in and removed from; each is a
	// file or a directory tree. Absolute; a relative path in the config is
	// resolved against the defining file's directory, like exec.
	ReadOnly, ReadWrite []string
	// TCPConnect (tcp_connect) and TCPBind (tcp_bind) are the TCP ports,
	// 1 to 65535, the plugin may connect to and bind.
	TCPConnect, TCPBind []uint16
	Where               Pos // the table's header, or its sandbox key
}

// sandboxTable decodes the table into p.Sandbox, which stays nil when the
// value is no table at all. Repeated entries are reported here, where each
// element's index is still the one written: a list drops the elements it
// refuses.
func sandboxTable(p *Plugin) setter {
	return func(d *decoder, k keyPath, v any) {
		s := &Sandbox{Where: d.src.pos(k)}
		readOnly := map[string]keyPath{}
		if !d.table(k, v, map[string]setter{
			"read_only":   stringList(&s.ReadOnly, uniquePaths(readOnly)),
			"read_write":  stringList(&s.ReadWrite, uniquePaths(map[string]keyPath{})),
			"tcp_connect": ports(&s.TCPConnect),
			"tcp_bind":    ports(&s.TCPBind),
		}) {
			return
		}
		for _, path := range s.ReadOnly {
			// Both rules would apply and the wider one win, so the
			// read_only entry would only mislead whoever reads the config.
			if slices.Contains(s.ReadWrite, path) {
				d.fail(readOnly[path], "%s is also in read_write, which grants it more: list it once", path)
			}
		}
		p.Sandbox = s
	}
}

// uniquePaths decodes paths as pathElem does, refusing one listed twice and
// noting in seen where each was written.
func uniquePaths(seen map[string]keyPath) func(d *decoder, k keyPath, s string) (string, bool) {
	return func(d *decoder, k keyPath, s string) (string, bool) {
		path, ok := pathElem(d, k, s)
		if !ok {
			return "", false
		}
		if _, dup := seen[path]; dup {
			d.fail(k, "%s is listed twice", path)
			return "", false
		}
		seen[path] = k
		return path, true
	}
}

const portRange = "must be a TCP port from 1 to 65535, got %s"

func ports(dst *[]uint16) setter {
	return func(d *decoder, k keyPath, v any) {
		arr, ok := v.([]any)
		if !ok {
			d.fail(k, "must be an array of TCP ports, got %s", describe(v))
			return
		}
		out := make([]uint16, 0, len(arr))
		for i, e := range arr {
			n, ok := e.(int64)
			switch {
			case !ok || n < 1 || n > 65535:
				d.fail(k.index(i), portRange, describe(e))
			case slices.Contains(out, uint16(n)):
				d.fail(k.index(i), "%d is listed twice", n)
			default:
				out = append(out, uint16(n))
			}
		}
		*dst = out
	}
}

// sandbox repeats the checks a decoded table passed by construction, for
// a config built in code.
func (v *validator) sandbox(k keyPath, s *Sandbox) {
	if s == nil {
		return
	}
	for key, paths := range map[string][]string{"read_only": s.ReadOnly, "read_write": s.ReadWrite} {
		for i, p := range paths {
			if !filepath.IsAbs(p) {
				v.fail(k.key(key).index(i), "must be an absolute path, got %q", p)
			}
		}
	}
	for key, ports := range map[string][]uint16{"tcp_connect": s.TCPConnect, "tcp_bind": s.TCPBind} {
		for i, n := range ports {
			if n == 0 {
				v.fail(k.key(key).index(i), portRange, "integer 0")
			}
		}
	}
}

// sandboxUser refuses a sandbox for a plugin of plugvisor's own uid. The
// thread that forks a sandboxed plugin restricts itself, so the plugin
// shares its Landlock domain; Landlock's scoping lets a process reach its
// own domain, and for the same uid the kernel's own checks do not stop it:
// such a plugin could signal, trace or read the supervisor through that
// thread. Under a uid of its own, the kernel refuses all three.
func (v *validator) sandboxUser(k keyPath, p *Plugin) {
	if p.Sandbox == nil {
		return
	}
	self := os.Geteuid()
	if p.UID < 0 || p.UID == self {
		v.fail(k.key("sandbox"), "a sandboxed plugin needs a user of its own (user = \"…\"), not plugvisor's uid %d: "+
			"the thread that starts it shares its sandbox, and a plugin of the same uid could signal or trace the supervisor through it", self)
	}
}
