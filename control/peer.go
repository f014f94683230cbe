package control

import (
	"fmt"
	"net"
	"os"

	"github.com/plugvisor/plugvisor/internal/unixsock"
)

// checkServer refuses a server that is neither our uid nor root, by the
// kernel's record of who listens (SO_PEERCRED): a socket found in a
// directory another user could write to may be theirs, and the client
// would hand it our tasks and show its replies as a plugvisor's.
func checkServer(nc net.Conn) error {
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		return nil // not a Unix socket: nothing the kernel vouches for
	}
	cred, err := unixsock.PeerCred(uc)
	if err != nil {
		return fmt.Errorf("server credentials: %w", err)
	}
	return trustedServer(int(cred.Uid), int(cred.Pid), os.Getuid())
}

// trustedServer is nil when a server of uid may be trusted by a client of
// self: the same user, or root.
func trustedServer(uid, pid, self int) error {
	if uid == self || uid == 0 {
		return nil
	}
	return fmt.Errorf("server refused: it runs as uid %d (pid %d), neither ours (%d) nor root", uid, pid, self)
}
