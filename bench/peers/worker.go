package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"time"
)

// The host side of each contender runs in a process of its own (this
// binary, re-executed with workerEnv set), so that the CPU time and the
// threads measured are that contender's alone: Go never gives threads
// back, and a supervisor's goroutines would count against go-plugin's.
const (
	workerEnv = "PEERS_WORKER" // the host kind to run
	binsEnv   = "PEERS_BINS"   // the built executables, as JSON
)

// command is one measurement the driver asks of a worker.
type command struct {
	Op      string        `json:"op"` // rtt, inflight, spawn, records, records-json, idle, close
	N       int           `json:"n"`
	Settle  time.Duration `json:"settle,omitempty"`
	Measure time.Duration `json:"measure,omitempty"`
}

// result is a worker's answer; which fields are set depends on the op.
type result struct {
	Err     string          `json:"err,omitempty"`
	Samples []time.Duration `json:"samples,omitempty"`
	// Engine is, for plugvisor's round trips, each task's Reply.RTT: the
	// supervisor's own send → reply time, beside the caller's in Samples.
	Engine    []time.Duration `json:"engine,omitempty"`
	Count     int             `json:"count,omitempty"`
	Elapsed   time.Duration   `json:"elapsed,omitempty"`
	CPU       time.Duration   `json:"cpu,omitempty"`        // the host's (the supervisor's) CPU time
	PluginCPU time.Duration   `json:"plugin_cpu,omitempty"` // the plugins' CPU time
	Threads   int             `json:"threads,omitempty"`
	StopAll   time.Duration   `json:"stop_all,omitempty"`
	Exit      time.Duration   `json:"exit,omitempty"` // the host's own exit after stop-all

	Notes []string `json:"notes,omitempty"`
}

// op is one measurement a host can make.
type op func(ctx context.Context, c command) (result, error)

// host is a contender's side of the benchmark, living in a worker.
type host struct {
	ops   map[string]op
	notes []string // said once, at setup: which containment ran, …
	close func() error
}

// hostKinds builds each kind of host.
var hostKinds = map[string]func(ctx context.Context, b *bins) (*host, error){
	"raw":            newRawHost,
	"embedded":       newEmbeddedHost,
	"daemon":         newDaemonHost,
	"gp-netrpc":      func(ctx context.Context, b *bins) (*host, error) { return newGPHost(ctx, b, false) },
	"gp-grpc":        func(ctx context.Context, b *bins) (*host, error) { return newGPHost(ctx, b, true) },
	"idle-plugvisor": func(ctx context.Context, b *bins) (*host, error) { return newIdlePlugvisorHost(ctx, b, "") },
	"idle-plugvisor-hb10": func(ctx context.Context, b *bins) (*host, error) {
		return newIdlePlugvisorHost(ctx, b, "heartbeat_interval = \"10s\"\nheartbeat_timeout = \"30s\"\n")
	},
	"idle-goplugin": newIdleGoPluginHost,
}

// workerMain serves commands from stdin, one JSON line each, answering on
// fd 3 (stdout belongs to whatever the host runs).
func workerMain(kind string) int {
	// Ctrl-C reaches the whole process group: the driver ends its workers
	// itself (closing their stdin), so each can stop its plugins first.
	signal.Ignore(os.Interrupt)
	out := json.NewEncoder(os.NewFile(3, "results"))
	var b bins
	if err := json.Unmarshal([]byte(os.Getenv(binsEnv)), &b); err != nil {
		_ = out.Encode(result{Err: fmt.Sprintf("worker %s: %s: %v", kind, binsEnv, err)})
		return 1
	}
	ctx := context.Background()
	newHost := hostKinds[kind]
	if newHost == nil {
		_ = out.Encode(result{Err: "unknown worker kind " + kind})
		return 1
	}
	h, err := newHost(ctx, &b)
	if err != nil {
		_ = out.Encode(result{Err: fmt.Sprintf("%s: setup: %v", kind, err)})
		return 1
	}
	_ = out.Encode(result{Notes: h.notes})
	code := serveCommands(ctx, kind, h, out)
	if err := h.close(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: close: %v\n", kind, err)
		code = 1
	}
	return code
}

func serveCommands(ctx context.Context, kind string, h *host, out *json.Encoder) int {
	dec := json.NewDecoder(os.Stdin)
	for {
		var c command
		if err := dec.Decode(&c); err != nil || c.Op == "close" {
			return 0
		}
		f := h.ops[c.Op]
		if f == nil {
			_ = out.Encode(result{Err: fmt.Sprintf("%s: no op %q", kind, c.Op)})
			continue
		}
		r, err := f(ctx, c)
		if err != nil {
			r = result{Err: fmt.Sprintf("%s %s: %v", kind, c.Op, err)}
		}
		if err := out.Encode(r); err != nil {
			return 1
		}
	}
}

// worker is the driver's handle on a worker process.
type worker struct {
	kind  string
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *json.Decoder
	stder *tail
	notes []string
}

// startWorker runs a host of kind and waits for its setup.
func startWorker(ctx context.Context, kind string, b *bins) (*worker, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	bj, _ := json.Marshal(b)
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("worker pipe: %w", err)
	}
	defer pw.Close()
	w := &worker{kind: kind, cmd: exec.CommandContext(ctx, self), stder: &tail{max: 64 << 10}}
	w.cmd.Env = append(os.Environ(), workerEnv+"="+kind, binsEnv+"="+string(bj))
	w.cmd.ExtraFiles = []*os.File{pw}
	w.cmd.Stderr = w.stder
	w.cmd.WaitDelay = 5 * time.Second
	if w.in, err = w.cmd.StdinPipe(); err != nil {
		pr.Close()
		return nil, fmt.Errorf("worker stdin: %w", err)
	}
	if err := w.cmd.Start(); err != nil {
		pr.Close()
		return nil, fmt.Errorf("worker %s: %w", kind, err)
	}
	w.out = json.NewDecoder(bufio.NewReader(pr))
	r, err := w.read()
	if err != nil {
		w.close()
		return nil, err
	}
	w.notes = r.Notes
	return w, nil
}

func (w *worker) read() (result, error) {
	var r result
	if err := w.out.Decode(&r); err != nil {
		return r, fmt.Errorf("worker %s ended: %w; its stderr:\n%s", w.kind, err, w.stder)
	}
	if r.Err != "" {
		return r, fmt.Errorf("%s; stderr:\n%s", r.Err, w.stder)
	}
	return r, nil
}

// do runs one command and returns its result.
func (w *worker) do(c command) (result, error) {
	if err := json.NewEncoder(w.in).Encode(c); err != nil {
		return result{}, fmt.Errorf("worker %s: %w", w.kind, err)
	}
	return w.read()
}

// close asks the worker to stop its host and waits for it.
func (w *worker) close() error {
	_ = json.NewEncoder(w.in).Encode(command{Op: "close"})
	w.in.Close()
	if err := w.cmd.Wait(); err != nil {
		return fmt.Errorf("worker %s: %w; stderr:\n%s", w.kind, err, w.stder)
	}
	return nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
