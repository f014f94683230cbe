package sandbox

// Spec is what one plugin may reach. Paths are absolute; a path that is a
// symbolic link stands for what it points to. Everything else on the
// filesystem, every TCP port not listed and (where the kernel can) every
// signal and abstract unix socket outside the sandbox is refused.
type Spec struct {
	ReadOnly   []string // read and execute: files, or directory trees
	ReadWrite  []string // read, write, create, remove, execute beneath
	TCPConnect []uint16 // ports the plugin may connect to (ABI 4+)
	TCPBind    []uint16 // ports it may bind; 0 lets it bind a port the kernel picks
}

// systemReadOnly is what a dynamically linked program or an interpreter
// needs to start, and no more:
//
//   - /usr holds the programs, the shared libraries, the dynamic loader,
//     the interpreters' standard libraries, locales and zoneinfo;
//   - /bin, /sbin, /lib and /lib64 are links into /usr on a merged-/usr
//     system (then they add nothing: a rule follows the link) and real
//     directories elsewhere, where /lib64 holds the x86-64 loader named in
//     every such binary;
//   - /etc/ld.so.cache is how the loader finds libraries without searching;
//   - /etc/localtime is the local time zone (glibc, Go, Python); a link
//     into /usr/share/zoneinfo on most systems, a copy in many containers.
//
// Left out on purpose: /etc/ld.so.conf and ld.so.conf.d, which only
// ldconfig reads; /etc/ld.so.preload, absent on a normal system; name
// service files (/etc/passwd, /etc/nsswitch.conf, /etc/hosts,
// /etc/resolv.conf), which a plugin that needs them gets from its own spec;
// /proc and /sys, which tell a plugin about the whole host.
func systemReadOnly() []string {
	return []string{
		"/usr",
		"/bin",
		"/sbin",
		"/lib",
		"/lib64",
		"/etc/ld.so.cache",
		"/etc/localtime",
	}
}

// Base is the spec every plugin starts from: the system above read-only,
// /dev/urandom to read (old code and some libraries read it rather than call
// getrandom), /dev/null and /dev/zero to read and write (shells redirect to
// /dev/null; os/exec opens it for a child without stdin, on the very thread
// that was restricted; /dev/zero is mapped read-write for anonymous memory by
// old programs). The supervisor adds the plugin's own directory (read-write),
// the verified copy of its script (read-only) and nothing for its socket: a
// pathname unix socket is not something Landlock before ABI 9 controls.
func Base() Spec {
	return Spec{
		ReadOnly:  append(systemReadOnly(), "/dev/urandom"),
		ReadWrite: []string{"/dev/null", "/dev/zero"},
	}
}
