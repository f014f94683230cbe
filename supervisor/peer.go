package supervisor

import (
	"fmt"
	"syscall"
)

// checkPeer authorises a connection for an instance whose first process is
// leader, started as process group pgid: exactly the uid the plugin was
// started as (the supervisor's own unless the plugin has a user), the peer
// inside that group, and the peer the leader itself or a descendant of
// it. (Elkeid compared getpgid(pid) with itself; this compares it with the
// group recorded when the supervisor started the plugin.) The last check
// matters because every plugin shares the supervisor's session, and a
// process may move itself into any group of its session: another plugin
// could otherwise join this one's group and register in its place.
func checkPeer(uid uint32, wantUID, pid, wantPGID, leader int) error {
	if int(uid) != wantUID {
		return fmt.Errorf("peer uid %d is not uid %d, which the plugin runs as", uid, wantUID)
	}
	if wantPGID <= 0 {
		return fmt.Errorf("peer pid %d: no process of this plugin is running", pid)
	}
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		return fmt.Errorf("peer pid %d: %w", pid, err)
	}
	if pgid != wantPGID {
		return fmt.Errorf("peer pid %d is in process group %d, but the plugin was started as process group %d", pid, pgid, wantPGID)
	}
	if pid != leader && !descendant(pid, leader) {
		return fmt.Errorf("peer pid %d is in the plugin's process group but does not descend from the process the supervisor started (pid %d)", pid, leader)
	}
	return nil
}

// maxAncestry bounds the walk up a process tree.
const maxAncestry = 64

// descendant reports whether pid descends from ancestor, following parent
// pids in /proc.
func descendant(pid, ancestor int) bool {
	buf := make([]byte, 0, 512)
	for range maxAncestry {
		st, ok := readStat(pid, buf)
		if !ok || st.ppid <= 1 {
			return false
		}
		if st.ppid == ancestor {
			return true
		}
		pid = st.ppid
	}
	return false
}
