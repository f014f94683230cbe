package sdk

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/plugvisor/plugvisor/protocol"
)

// Task is a request from the supervisor. Reply and Progress records carry its
// Token so the supervisor can match them.
type Task struct {
	ID      uint32
	Content string
	Token   string

	state *taskState // shared by every copy, so a second final reply is caught
}

type taskState struct{ answered atomic.Bool }

func newTask(id uint32, content, token string) Task {
	return Task{ID: id, Content: content, Token: token, state: &taskState{}}
}

// HandlerFunc answers one task. It may send Progress records, should send one
// Reply, and must not keep using t after returning. Returning nil without a
// reply sends {data_type: task_done, task_status: ok}; returning an error (or
// panicking) sends {data_type: task_error, task_status: error, error: text}.
// ctx is cancelled when the session shuts down.
type HandlerFunc func(ctx context.Context, t Task, s Sink) error

// Router maps task ids to handlers.
type Router struct {
	byID     map[uint32]HandlerFunc
	fallback HandlerFunc
}

// Handle registers h for tasks with this id, replacing any earlier one.
func (r *Router) Handle(id uint32, h HandlerFunc) {
	if r.byID == nil {
		r.byID = make(map[uint32]HandlerFunc)
	}
	r.byID[id] = h
}

// HandleDefault registers h for every id without a handler of its own.
func (r *Router) HandleDefault(h HandlerFunc) { r.fallback = h }

func (r *Router) merge(from *Router) {
	for id, h := range from.byID {
		r.Handle(id, h)
	}
	if from.fallback != nil {
		r.fallback = from.fallback
	}
}

func (r *Router) lookup(id uint32) (HandlerFunc, error) {
	if h, ok := r.byID[id]; ok {
		return h, nil
	}
	if r.fallback != nil {
		return r.fallback, nil
	}
	known := "none"
	if len(r.byID) > 0 {
		ids := slices.Sorted(maps.Keys(r.byID))
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = fmt.Sprint(id)
		}
		known = strings.Join(parts, ", ")
	}
	return nil, fmt.Errorf("no handler for task id %d (known: %s)", id, known)
}

// Data types of the replies the SDK sends for a handler.
const (
	typeTaskDone  = "task_done"
	typeTaskError = "task_error"
)

// dispatcher runs each task in its own goroutine, at most max at once; the
// rest wait in arrival order. submit never blocks, so the read loop that
// calls it keeps answering pings whatever the handlers do.
type dispatcher struct {
	router Router
	sink   Sink
	ctx    context.Context
	log    *slog.Logger
	max    int

	mu      sync.Mutex
	running int
	backlog []Task
	closed  bool
	idle    chan struct{} // closed once closed and nothing runs
}

func newDispatcher(ctx context.Context, router Router, sink Sink, log *slog.Logger, max int) *dispatcher {
	return &dispatcher{router: router, sink: sink, ctx: ctx, log: log, max: max, idle: make(chan struct{})}
}

func (d *dispatcher) submit(t Task) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		// The queue is closed too, so no reply could be sent; say so in the log.
		d.log.Warn("task dropped: shutting down", "id", t.ID, "token", t.Token)
	case d.running < d.max:
		d.running++
		go d.work(t)
	default:
		d.backlog = append(d.backlog, t)
	}
}

// work runs t, then whatever waits in the backlog, on this goroutine.
func (d *dispatcher) work(t Task) {
	for ok := true; ok; t, ok = d.next() {
		d.handle(t)
	}
}

func (d *dispatcher) next() (Task, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed && len(d.backlog) > 0 {
		t := d.backlog[0]
		d.backlog[0] = Task{}
		d.backlog = d.backlog[1:]
		return t, true
	}
	d.running--
	if d.closed && d.running == 0 {
		close(d.idle)
	}
	return Task{}, false
}

func (d *dispatcher) handle(t Task) {
	h, err := d.router.lookup(t.ID)
	if err == nil {
		err = d.call(h, t)
	}
	d.finish(t, err)
}

func (d *dispatcher) call(h HandlerFunc, t Task) (err error) {
	defer func() {
		if v := recover(); v != nil {
			d.log.Error("task handler panicked", "id", t.ID, "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return h(d.ctx, t, d.sink)
}

// finish sends the final reply unless the handler already did.
func (d *dispatcher) finish(t Task, err error) {
	if !t.state.answered.CompareAndSwap(false, true) {
		return
	}
	fields := Fields{protocol.FieldDataType: typeTaskDone}
	status := protocol.StatusOK
	if err != nil {
		fields = Fields{protocol.FieldDataType: typeTaskError, protocol.FieldError: err.Error()}
		status = protocol.StatusError
	}
	if err := d.sink.send(t.Token, fields, status); err != nil {
		d.log.Warn("task reply not sent", "id", t.ID, "token", t.Token, "err", err)
	}
}

// close stops new tasks and drops the backlog; idle closes when the running
// handlers have returned.
func (d *dispatcher) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	if n := len(d.backlog); n > 0 {
		d.log.Warn("queued tasks dropped: shutting down", "count", n)
	}
	d.backlog = nil
	if d.running == 0 {
		close(d.idle)
	}
}
