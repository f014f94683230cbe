package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// rawHost is the floor: rawecho, a Go server with no protocol, on one Unix
// socket.
type rawHost struct {
	b    *bins
	dir  string
	srv  *rawServer // the long-lived server for round trips and records
	conn net.Conn   // an echo connection to it
}

func newRawHost(ctx context.Context, b *bins) (*host, error) {
	dir, err := os.MkdirTemp("", "pvpeer-raw")
	if err != nil {
		return nil, fmt.Errorf("raw dir: %w", err)
	}
	r := &rawHost{b: b, dir: dir}
	if r.srv, err = startRaw(b, filepath.Join(dir, "echo.sock")); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if r.conn, err = r.srv.dial("E"); err != nil {
		r.close()
		return nil, err
	}
	return &host{ops: map[string]op{
		"rtt":      func(ctx context.Context, c command) (result, error) { return sequential(ctx, c.N, r.echo) },
		"inflight": r.pipelined,
		"spawn":    r.spawn,
		"records":  r.records,
	}, notes: []string{"raw: rawecho on a Unix socket, no protocol, no containment"}, close: r.close}, nil
}

func (r *rawHost) close() error {
	if r.conn != nil {
		r.conn.Close()
	}
	err := r.srv.stop()
	os.RemoveAll(r.dir)
	return err
}

func (r *rawHost) echo(context.Context) error { return echoOn(r.conn) }

func echoOn(c net.Conn) error {
	buf := make([]byte, len(payload))
	if _, err := io.WriteString(c, payload); err != nil {
		return fmt.Errorf("raw write: %w", err)
	}
	if _, err := io.ReadFull(c, buf); err != nil {
		return fmt.Errorf("raw read: %w", err)
	}
	return echoed(string(buf))
}

// pipelined keeps inFlight messages on the wire of one connection: a writer
// that may run inFlight ahead of the reader.
func (r *rawHost) pipelined(_ context.Context, c command) (result, error) {
	credit := make(chan struct{}, inFlight)
	for range inFlight {
		credit <- struct{}{}
	}
	werr := make(chan error, 1)
	t0 := time.Now()
	go func() {
		for range c.N {
			<-credit
			if _, err := io.WriteString(r.conn, payload); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	br := bufio.NewReaderSize(r.conn, 64<<10)
	buf := make([]byte, len(payload))
	for range c.N {
		if _, err := io.ReadFull(br, buf); err != nil {
			return result{}, fmt.Errorf("raw pipelined read: %w", err)
		}
		credit <- struct{}{}
	}
	if err := <-werr; err != nil {
		return result{}, fmt.Errorf("raw pipelined write: %w", err)
	}
	if err := echoed(string(buf)); err != nil {
		return result{}, err
	}
	return result{Count: c.N, Elapsed: time.Since(t0)}, nil
}

// spawn times starting rawecho, connecting and the first echo.
func (r *rawHost) spawn(ctx context.Context, c command) (result, error) {
	n := 0
	return spawnCycles(ctx, c.N, func(context.Context) (func() error, error) {
		n++
		srv, err := startRaw(r.b, filepath.Join(r.dir, "s"+strconv.Itoa(n)+".sock"))
		if err != nil {
			return nil, err
		}
		conn, err := srv.dial("E")
		if err == nil {
			err = echoOn(conn)
			conn.Close()
		}
		if err != nil {
			srv.stop()
			return nil, err
		}
		return srv.stop, nil
	})
}

// records streams c.N record lines from rawecho; the CPU is this process's,
// the receiving side's.
func (r *rawHost) records(_ context.Context, c command) (result, error) {
	cpu0, t0 := selfCPU(), time.Now()
	conn, err := r.srv.dial("F" + strconv.Itoa(c.N) + "\n")
	if err != nil {
		return result{}, err
	}
	defer conn.Close()
	sc := bufio.NewScanner(bufio.NewReaderSize(conn, 64<<10))
	count := 0
	for sc.Scan() {
		if string(sc.Bytes()) == "done" {
			return result{Count: count, Elapsed: time.Since(t0), CPU: selfCPU() - cpu0}, nil
		}
		count++
	}
	return result{}, fmt.Errorf("raw records: stream ended after %d: %v", count, sc.Err())
}

// rawServer is a running rawecho: it accepts on a listener it was handed,
// so a connect made right after the start waits in the backlog rather than
// failing.
type rawServer struct {
	path string
	cmd  *exec.Cmd
}

func startRaw(b *bins, path string) (*rawServer, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("raw listen: %w", err)
	}
	defer ln.Close() // the server holds its own copy
	f, err := ln.(*net.UnixListener).File()
	if err != nil {
		return nil, fmt.Errorf("raw listener fd: %w", err)
	}
	defer f.Close()
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	cmd := exec.Command(b.RawEcho)
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL} // gone with its worker, however it ends
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start rawecho: %w", err)
	}
	return &rawServer{path: path, cmd: cmd}, nil
}

func (s *rawServer) dial(hello string) (net.Conn, error) {
	c, err := net.Dial("unix", s.path)
	if err != nil {
		return nil, fmt.Errorf("raw dial: %w", err)
	}
	if _, err := io.WriteString(c, hello); err != nil {
		c.Close()
		return nil, fmt.Errorf("raw hello: %w", err)
	}
	return c, nil
}

func (s *rawServer) stop() error {
	_ = s.cmd.Process.Kill()
	err := s.cmd.Wait()
	os.Remove(s.path)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return nil // killed, as asked
	}
	return err
}
