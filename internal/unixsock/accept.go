package unixsock

import (
	"errors"
	"log/slog"
	"net"
	"time"
)

// Accept pauses between failed accepts: from minPause, doubling to maxPause,
// as net/http's server does.
const (
	minPause = 5 * time.Millisecond
	maxPause = time.Second
)

// Accept accepts connections on ln until ln is closed, handing each to
// serve, which must not block: it starts what serves the connection (and
// can count it first, for a caller that waits for its connections).
// Every other failure — EMFILE and ENFILE when descriptors run out, ENOBUFS,
// ECONNABORTED — is waited out and retried: a full descriptor table must
// stall new connections while it lasts, not end the loop for good. Failures
// are logged at most once a second, with how many there were.
func Accept(ln *net.UnixListener, log *slog.Logger, what string, serve func(*net.UnixConn)) {
	var pause time.Duration
	var failed int
	var logged time.Time
	for {
		c, err := ln.AcceptUnix()
		if err == nil {
			pause = 0
			serve(c)
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		failed++
		if now := time.Now(); now.Sub(logged) >= time.Second {
			log.Error(what+": accept failed; retrying", "err", err, "failures", failed)
			logged, failed = now, 0
		}
		pause = min(max(2*pause, minPause), maxPause)
		time.Sleep(pause)
	}
}
