package sandbox

import "golang.org/x/sys/unix"

// The Landlock ABI versions that brought what this package uses. Each
// version keeps everything the earlier ones had.
const (
	abiFilesystem = 1 // path-beneath rules for the first thirteen rights
	abiRefer      = 2 // LANDLOCK_ACCESS_FS_REFER: renames and links across directories
	abiTruncate   = 3 // LANDLOCK_ACCESS_FS_TRUNCATE
	abiTCP        = 4 // LANDLOCK_ACCESS_NET_{BIND,CONNECT}_TCP and port rules
	abiIoctlDev   = 5 // LANDLOCK_ACCESS_FS_IOCTL_DEV
	abiScope      = 6 // LANDLOCK_SCOPE_SIGNAL and LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
	abiAuditFlags = 7 // landlock_restrict_self's LANDLOCK_RESTRICT_SELF_LOG_* flags
)

// landlockRuleNetPort is LANDLOCK_RULE_NET_PORT (ABI 4), which
// golang.org/x/sys/unix v0.49.0 does not define, together with the
// struct landlock_net_port_attr it takes.
const landlockRuleNetPort = 2

type landlockNetPortAttr struct {
	allowedAccess uint64
	port          uint64
}

// fsABI1 is every filesystem right of the first ABI.
const fsABI1 = unix.LANDLOCK_ACCESS_FS_EXECUTE |
	unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
	unix.LANDLOCK_ACCESS_FS_READ_FILE |
	unix.LANDLOCK_ACCESS_FS_READ_DIR |
	unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
	unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
	unix.LANDLOCK_ACCESS_FS_MAKE_CHAR |
	unix.LANDLOCK_ACCESS_FS_MAKE_DIR |
	unix.LANDLOCK_ACCESS_FS_MAKE_REG |
	unix.LANDLOCK_ACCESS_FS_MAKE_SOCK |
	unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
	unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	unix.LANDLOCK_ACCESS_FS_MAKE_SYM

// fileRights are the only rights a rule on something that is not a
// directory may carry; any other makes landlock_add_rule fail with EINVAL.
const fileRights = unix.LANDLOCK_ACCESS_FS_EXECUTE |
	unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
	unix.LANDLOCK_ACCESS_FS_READ_FILE |
	unix.LANDLOCK_ACCESS_FS_TRUNCATE |
	unix.LANDLOCK_ACCESS_FS_IOCTL_DEV

// readOnlyRights let a plugin load libraries, run programs and list
// directories, and nothing else.
const readOnlyRights = unix.LANDLOCK_ACCESS_FS_EXECUTE |
	unix.LANDLOCK_ACCESS_FS_READ_FILE |
	unix.LANDLOCK_ACCESS_FS_READ_DIR

// readWriteRights add writing, creating and removing. Making character or
// block devices stays refused even beneath a read-write directory: a plugin
// running as root could otherwise mknod the host's disk and read it raw.
// IOCTL_DEV is left out for the same reason, and a plugin's own directory
// holds no devices that would need it.
const readWriteRights = readOnlyRights |
	unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
	unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
	unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
	unix.LANDLOCK_ACCESS_FS_MAKE_DIR |
	unix.LANDLOCK_ACCESS_FS_MAKE_REG |
	unix.LANDLOCK_ACCESS_FS_MAKE_SOCK |
	unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
	unix.LANDLOCK_ACCESS_FS_MAKE_SYM |
	unix.LANDLOCK_ACCESS_FS_REFER |
	unix.LANDLOCK_ACCESS_FS_TRUNCATE

// handled is what a ruleset built for one ABI restricts: everything that
// ABI can, so that whatever no rule grants is refused.
type handled struct {
	fs, net, scope uint64
	restrictFlags  uintptr
}

// handledBy is the best-effort ruleset for abi: a right the kernel does not
// know cannot be handled (the kernel would refuse the whole ruleset), so it
// is dropped and stays unrestricted. Rights newer than ABI 7 are not handled
// even where the kernel has them: ABI 9's LANDLOCK_ACCESS_FS_RESOLVE_UNIX
// would refuse the plugin its own socket until the supervisor adds a rule
// for it, and no kernel this was tested on has it.
func handledBy(abi int) handled {
	var h handled
	if abi >= abiFilesystem {
		h.fs = fsABI1
	}
	if abi >= abiRefer {
		h.fs |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= abiTruncate {
		h.fs |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= abiTCP {
		h.net = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
	}
	if abi >= abiIoctlDev {
		h.fs |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	if abi >= abiScope {
		h.scope = unix.LANDLOCK_SCOPE_SIGNAL | unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
	}
	if abi >= abiAuditFlags {
		// The plugin's denials are what an operator needs in the audit
		// log; by default only those of the thread that restricted itself
		// (before exec) would be logged.
		h.restrictFlags = unix.LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON
	}
	return h
}

// pathRights is what a rule on one path grants: want, less what the ruleset
// does not handle (granting it would be EINVAL), less directory-only rights
// when the path is not a directory (EINVAL too).
func (h handled) pathRights(want uint64, isDir bool) uint64 {
	r := want & h.fs
	if !isDir {
		r &= fileRights
	}
	return r
}
