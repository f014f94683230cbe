package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/plugvisor/plugvisor/internal/unixsock"
	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/tui"
)

// listenControl opens the control socket. The demo's is at a fixed place
// so that ctl finds it unasked; when another plugvisor holds it (a second
// demo console), this one listens beside it on a socket named for its pid,
// which ctl also finds once the first has gone, and the console says where,
// naming the other one. Nil listener: no control socket, and the notice
// says why.
func (e engine) listenControl() (*net.UnixListener, *tui.Notice) {
	path := e.cfg.Agent.ControlSocket
	ln, err := unixsock.Listen(path)
	if err == nil {
		return ln, nil
	}
	if path == registry.DemoControlSocket(os.Getenv) {
		holder := socketHolder(path)
		alt := registry.DemoInstanceSocket(os.Getenv, os.Getpid())
		if ln, altErr := unixsock.Listen(alt); altErr == nil {
			e.log.Warn("demo control socket held by another plugvisor; serving beside it", "held", path, "holder_pid", holder, "socket", alt)
			return ln, &tui.Notice{
				Header: "ctl socket: " + filepath.Base(alt),
				Full: fmt.Sprintf("the demo's control socket %s is another plugvisor's (%s): this console's is %s; reach it with plugvisor ctl --socket %s (or plain ctl once the other has gone)",
					path, pidOf(holder), alt, alt),
			}
		}
	}
	e.log.Warn("control socket unavailable; ctl and attach cannot reach this instance", "err", err)
	return nil, &tui.Notice{
		Header: "no control socket",
		Full:   fmt.Sprintf("no control socket, so ctl and attach cannot reach this console: %v", err),
	}
}

// socketHolder is the pid of the process listening on path, from the
// kernel's credentials of the connection; 0 when it cannot be told.
func socketHolder(path string) int {
	c, err := net.DialTimeout("unix", path, 200*time.Millisecond)
	if err != nil {
		return 0
	}
	defer c.Close()
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0
	}
	cred, err := unixsock.PeerCred(uc)
	if err != nil {
		return 0
	}
	return int(cred.Pid)
}

func pidOf(pid int) string {
	if pid <= 0 {
		return "its pid unknown"
	}
	return fmt.Sprintf("pid %d", pid)
}
