package sandbox

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The Landlock system calls, raw. None of them takes a flag that reaches
// beyond the calling thread: landlock_restrict_self without
// LANDLOCK_RESTRICT_SELF_TSYNC restricts that thread alone.

func abiVersion() (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0, errno
	}
	return int(v), nil
}

// createRuleset returns a ruleset fd. The attribute struct of x/sys may be
// longer than this kernel's; the kernel accepts that as long as the fields
// it does not know are zero, and they are.
func createRuleset(h handled) (int, error) {
	attr := unix.LandlockRulesetAttr{
		Handled_access_fs:  h.fs,
		Handled_access_net: h.net,
		Scoped:             h.scope,
	}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET,
		uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

func addPathRule(ruleset, dir int, rights uint64) error {
	attr := unix.LandlockPathBeneathAttr{Allowed_access: rights, Parent_fd: int32(dir)}
	return addRule(ruleset, unix.LANDLOCK_RULE_PATH_BENEATH, unsafe.Pointer(&attr))
}

func addPortRule(ruleset int, port uint16, rights uint64) error {
	attr := landlockNetPortAttr{allowedAccess: rights, port: uint64(port)}
	return addRule(ruleset, landlockRuleNetPort, unsafe.Pointer(&attr))
}

func addRule(ruleset int, kind uintptr, attr unsafe.Pointer) error {
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), kind, uintptr(attr), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// noNewPrivs sets no_new_privs on the calling thread only: prctl acts on
// the task that calls it, and a Go thread is a task.
func noNewPrivs() error {
	return unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
}

func restrictSelf(ruleset int, flags uintptr) error {
	_, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), flags, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
