package control_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// rawMsg is the size of the raw anchor's message: a task's 64 bytes.
const rawMsg = 64

// echoRole serves the raw anchor: on the Unix socket $PV_SOCKET it sends
// back every rawMsg bytes it reads, the least any plugin round trip can
// cost between two processes.
func echoRole() int {
	ln, err := net.Listen("unix", os.Getenv("PV_SOCKET"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return 0
		}
		go func() {
			defer c.Close()
			buf := make([]byte, rawMsg)
			for {
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		}()
	}
}

// rawEcho is a connection to an echo process started from the test binary.
type rawEcho struct {
	conn net.Conn
	buf  []byte
}

func startRawEcho(tb testing.TB) *rawEcho {
	tb.Helper()
	sock := filepath.Join(tb.TempDir(), "raw.sock")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), roleEnv+"=echo", "PV_SOCKET="+sock)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var conn net.Conn
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		if conn, err = net.Dial("unix", sock); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond) // the child has not bound yet: retry, bounded
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return &rawEcho{conn: conn, buf: make([]byte, rawMsg)}
}

// roundTrip sends one message and reads its echo.
func (r *rawEcho) roundTrip() error {
	if _, err := r.conn.Write(r.buf); err != nil {
		return err
	}
	_, err := io.ReadFull(r.conn, r.buf)
	return err
}
