package supervisor

import (
	"fmt"
	"os"
	"syscall"
)

// checkPeer authorises a connection for an instance started as process group
// pgid: same uid as the supervisor, and the peer process inside that group.
// (Elkeid compared getpgid(pid) with itself; this compares it with the pgid
// recorded when the supervisor started the plugin.)
func checkPeer(uid uint32, pid, wantPGID int) error {
	if int(uid) != os.Getuid() {
		return fmt.Errorf("peer uid %d is not the supervisor's uid %d", uid, os.Getuid())
	}
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		return fmt.Errorf("peer pid %d: %w", pid, err)
	}
	if wantPGID <= 0 {
		return fmt.Errorf("peer pid %d: no process of this plugin is running", pid)
	}
	if pgid != wantPGID {
		return fmt.Errorf("peer pid %d is in process group %d, but the plugin was started as process group %d", pid, pgid, wantPGID)
	}
	return nil
}
