package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/plugvisor/plugvisor/control"
)

// daemonHost is plugvisor as users run it headless: `plugvisor --no-tui`
// in a process of its own, reached through its control socket, its records
// read as JSON lines from its stdout.
type daemonHost struct {
	dir      string
	cmd      *exec.Cmd
	client   *control.Client
	lines    *lineCounter
	floods   atomic.Int64
	readDone chan struct{} // closed when the stdout reader ends
	readErr  error         // why, once readDone is closed
}

func newDaemonHost(ctx context.Context, b *bins) (*host, error) {
	dir, err := os.MkdirTemp("", "pvpeer-d")
	if err != nil {
		return nil, fmt.Errorf("daemon dir: %w", err)
	}
	d := &daemonHost{dir: dir, lines: &lineCounter{}, readDone: make(chan struct{})}
	if err := d.start(ctx, b); err != nil {
		d.close()
		return nil, err
	}
	notes, err := containmentNotes(ctx, d.client, "daemon")
	if err != nil {
		d.close()
		return nil, err
	}
	ops := apiOps(d.client)
	ops["records"], ops["records-json"] = d.recordsAPI, d.recordsJSON
	return &host{ops: ops, notes: notes, close: d.close}, nil
}

func (d *daemonHost) start(ctx context.Context, b *bins) error {
	cfg := filepath.Join(d.dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(agentTOML(d.dir)+servingPlugins(b)), 0o600); err != nil {
		return fmt.Errorf("daemon config: %w", err)
	}
	d.cmd = exec.Command(b.Plugvisor, "--no-tui", "--config", cfg, "--log-level", "warn")
	d.cmd.Stderr = os.Stderr
	// Should this worker die, the daemon goes with it (it stops its plugins).
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("daemon stdout: %w", err)
	}
	if err := d.cmd.Start(); err != nil {
		d.cmd = nil
		return fmt.Errorf("start daemon: %w", err)
	}
	go func() { d.readErr = d.lines.scan(out); close(d.readDone) }()
	if d.client, err = dialWhenUp(ctx, filepath.Join(d.dir, "plugvisor.ctl.sock"), d.readDone); err != nil {
		return err
	}
	return waitRunning(ctx, d.client)
}

// dialWhenUp connects to the control socket once the daemon serves it.
// The daemon says nothing when it is up, so this retries; the loop ends
// when the daemon exits (its stdout closes) or after 30 s.
func dialWhenUp(ctx context.Context, sock string, exited <-chan struct{}) (*control.Client, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := control.Dial(ctx, sock)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("daemon control socket: %w", err)
		}
		select {
		case <-exited:
			return nil, errors.New("daemon exited before serving its control socket")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (d *daemonHost) close() error {
	var err error
	if d.client != nil {
		d.client.Close()
	}
	if d.cmd != nil {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		<-d.readDone // stdout closes as the daemon exits
		if werr := d.cmd.Wait(); werr != nil {
			err = fmt.Errorf("daemon: %w", werr)
		}
	}
	os.RemoveAll(d.dir)
	return err
}

func (d *daemonHost) cpu() (time.Duration, error) { return pidCPU(d.cmd.Process.Pid) }

// recordsAPI counts the flood on a control-socket subscription; the
// daemon's CPU includes writing the same records as JSON lines, which
// headless always does.
func (d *daemonHost) recordsAPI(ctx context.Context, c command) (result, error) {
	token := fmt.Sprintf("flood-%d", d.floods.Add(1))
	seen := d.lines.expect(token)
	r, err := floodToSubscriber(ctx, d.client, c.N, token, d.cpu)
	if err != nil {
		return r, err
	}
	// Let the JSON lines of this flood through before the next measurement.
	return r, d.lines.wait(seen, d.readDone)
}

// recordsJSON counts the flood on the daemon's stdout, up to the reply's
// line.
func (d *daemonHost) recordsJSON(ctx context.Context, c command) (result, error) {
	token := fmt.Sprintf("flood-%d", d.floods.Add(1))
	seen := d.lines.expect(token)
	cpu0, err := d.cpu()
	if err != nil {
		return result{}, err
	}
	n0, t0 := d.lines.floods.Load(), time.Now()
	if _, err := d.client.SendTask(ctx, floodTask(c.N, token)); err != nil {
		return result{}, fmt.Errorf("flood task: %w", err)
	}
	if err := d.lines.wait(seen, d.readDone); err != nil {
		return result{}, err
	}
	elapsed := time.Since(t0)
	cpu1, err := d.cpu()
	if err != nil {
		return result{}, err
	}
	return result{Count: int(d.lines.floods.Load() - n0), Elapsed: elapsed, CPU: cpu1 - cpu0}, nil
}

// lineCounter reads the daemon's JSON lines: it counts flood records and
// tells a waiter when the line carrying its token went by.
type lineCounter struct {
	floods atomic.Int64
	mu     sync.Mutex
	token  []byte
	seen   chan struct{}
}

var floodField = []byte(`"data_type":"flood"`)

func (l *lineCounter) scan(r io.Reader) error {
	sc := bufio.NewScanner(bufio.NewReaderSize(r, 256<<10))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.Contains(line, floodField) {
			l.floods.Add(1)
			continue
		}
		l.mu.Lock()
		if l.token != nil && bytes.Contains(line, l.token) {
			close(l.seen)
			l.token = nil
		}
		l.mu.Unlock()
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("daemon stdout: %w", err)
	}
	return errors.New("daemon stdout closed")
}

// expect arms the counter for the reply line of token.
func (l *lineCounter) expect(token string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.token = []byte(`"token":"` + token + `"`)
	l.seen = make(chan struct{})
	return l.seen
}

// wait waits for the line expected, or the end of the stream. Headless
// drops what its output buffer cannot hold (and says so on stderr), the
// reply's line among them perhaps: once no flood line has come for two
// seconds, the flood is over without it.
func (l *lineCounter) wait(seen, ended chan struct{}) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last, quietSince := l.floods.Load(), time.Now()
	for {
		select {
		case <-seen:
			return nil
		case <-ended:
			return errors.New("daemon stdout ended before the flood's reply")
		case <-tick.C:
		}
		if n := l.floods.Load(); n != last {
			last, quietSince = n, time.Now()
		} else if time.Since(quietSince) > 2*time.Second {
			return nil
		}
	}
}
