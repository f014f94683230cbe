package sandbox

import (
	"testing"

	"golang.org/x/sys/unix"
)

// The kernel refuses a whole ruleset that handles a right it does not know,
// so each ABI must get exactly its own rights.
func TestHandledByDropsWhatTheABILacks(t *testing.T) {
	for _, c := range []struct {
		abi            int
		fs, net, scope uint64
	}{
		{0, 0, 0, 0},
		{1, fsABI1, 0, 0},
		{2, fsABI1 | unix.LANDLOCK_ACCESS_FS_REFER, 0, 0},
		{3, fsABI1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE, 0, 0},
		{4, 0x7fff, 0x3, 0},
		{5, 0xffff, 0x3, 0},
		{6, 0xffff, 0x3, 0x3},
		{7, 0xffff, 0x3, 0x3},
		{9, 0xffff, 0x3, 0x3}, // RESOLVE_UNIX left out on purpose
	} {
		h := handledBy(c.abi)
		if h.fs != c.fs || h.net != c.net || h.scope != c.scope {
			t.Errorf("ABI %d: handled fs %#x net %#x scope %#x, want %#x %#x %#x",
				c.abi, h.fs, h.net, h.scope, c.fs, c.net, c.scope)
		}
	}
}

// Directory-only rights on a file make landlock_add_rule fail with EINVAL.
func TestPathRightsOfAFileAreFileRights(t *testing.T) {
	h := handledBy(7)
	if got := h.pathRights(readWriteRights, false); got&^fileRights != 0 {
		t.Errorf("read-write rights on a file %#x include directory rights %#x", got, got&^fileRights)
	}
	if got := h.pathRights(readOnlyRights, false); got != unix.LANDLOCK_ACCESS_FS_EXECUTE|unix.LANDLOCK_ACCESS_FS_READ_FILE {
		t.Errorf("read-only rights on a file = %#x", got)
	}
	if got := handledBy(2).pathRights(readWriteRights, true); got&unix.LANDLOCK_ACCESS_FS_TRUNCATE != 0 {
		t.Errorf("ABI 2 grants TRUNCATE, which it cannot handle: %#x", got)
	}
	if readWriteRights&(unix.LANDLOCK_ACCESS_FS_MAKE_CHAR|unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK|unix.LANDLOCK_ACCESS_FS_IOCTL_DEV) != 0 {
		t.Error("read-write grants device rights")
	}
}
