package unixsock_test

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/internal/unixsock"
)

// TestAcceptSurvivesEMFILE fills the descriptor table, then lets clients
// connect: every accept fails with EMFILE while the table is full, and once
// descriptors are free again the same loop accepts every waiting client.
// The clients' sockets are made before the table is filled (connecting
// needs no new descriptor), and the limit is lowered so filling is quick;
// it is the test process's own and restored at the end.
func TestAcceptSurvivesEMFILE(t *testing.T) {
	path := filepath.Join(t.TempDir(), "private", "s.sock")
	ln, err := unixsock.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs testutil.SyncBuffer
	var served atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		unixsock.Accept(ln, slog.New(slog.NewTextHandler(&logs, nil)), "test socket", func(c *net.UnixConn) {
			served.Add(1)
			go c.Close()
		})
	}()
	const clients = 5
	var socks []int
	for range clients {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		socks = append(socks, fd)
	}
	defer func() {
		for _, fd := range socks {
			unix.Close(fd)
		}
	}()

	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	lim := unix.Rlimit{Cur: uint64(highestFD() + 64), Max: old.Max}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	var fillers []int
	release := func() {
		for _, fd := range fillers {
			unix.Close(fd)
		}
		fillers = nil
		_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
	}
	defer release()
	for {
		fd, err := unix.Dup(0)
		if err != nil {
			if err != unix.EMFILE {
				t.Fatalf("filling the table: %v", err)
			}
			break
		}
		fillers = append(fillers, fd)
	}
	addr := &unix.SockaddrUnix{Name: path}
	for _, fd := range socks {
		if err := unix.Connect(fd, addr); err != nil {
			t.Fatalf("connect with a full table: %v", err)
		}
	}
	waitUntil(t, "accept to fail with EMFILE", func() bool {
		return strings.Contains(logs.String(), "too many open files")
	})
	if n := served.Load(); n != 0 {
		t.Fatalf("%d connections accepted with a full table", n)
	}
	release()
	waitUntil(t, "every waiting client accepted", func() bool { return served.Load() == clients })
	ln.Close()
	<-done
}

// highestFD is one more than the highest open descriptor.
func highestFD() int {
	entries, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd+1 > n {
			n = fd + 1
		}
	}
	return n
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
