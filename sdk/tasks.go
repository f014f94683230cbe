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
	"time"

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

// Bounds of the tasks waiting for a free handler slot. Beyond them a task
// is answered at once with a "plugin busy" error rather than queued without
// limit.
const (
	maxWaitingTasks = 1024
	maxWaitingBytes = 64 << 20 // sum of the waiting tasks' contents
)

// dispatcher runs tasks on a pool of long-lived workers, at most max; a
// worker is started when a task finds every worker busy, and then stays, so
// its stack, once grown, serves the next task and handing a task over is a
// wake-up rather than a new goroutine. Tasks wait for a worker in arrival
// order, up to maxWaitingTasks (and maxWaitingBytes of content) beyond the
// free workers; the rest are answered at once with an error. submit never
// blocks, so the read loop that calls it keeps reading whatever the
// handlers do.
type dispatcher struct {
	router Router
	sink   Sink
	ctx    context.Context
	log    *slog.Logger
	max    int

	mu           sync.Mutex
	ready        sync.Cond // a task is waiting, or the dispatcher closed
	workers      int       // started and not yet gone
	busy         int       // workers running a handler
	backlog      []job     // backlog[head:]: tasks not yet taken by a worker
	head         int
	backlogBytes int
	closed       bool
	idle         chan struct{} // closed once closed and no handler runs
}

type job struct {
	t Task
	h HandlerFunc
}

func newDispatcher(ctx context.Context, router Router, sink Sink, log *slog.Logger, max int) *dispatcher {
	d := &dispatcher{router: router, sink: sink, ctx: ctx, log: log, max: max, idle: make(chan struct{})}
	d.ready.L = &d.mu
	return d
}

// submit queues t for a worker or answers it at once: a task without a
// handler, one that arrives during shutdown and one beyond the waiting
// bounds get their error reply without waiting behind busy handlers.
func (d *dispatcher) submit(t Task) {
	h, err := d.router.lookup(t.ID)
	if err != nil {
		d.replyNow(t, err.Error())
		return
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		d.replyNow(t, "plugin shutting down")
		return
	}
	if !d.admitLocked(len(t.Content)) {
		n := d.busy + d.waitingLocked()
		d.mu.Unlock()
		d.replyNow(t, fmt.Sprintf("plugin busy: %d tasks in flight", n))
		return
	}
	d.backlog = append(d.backlog, job{t, h})
	d.backlogBytes += len(t.Content)
	if d.workers-d.busy < d.waitingLocked() && d.workers < d.max {
		d.workers++
		go d.work()
	}
	d.mu.Unlock()
	d.ready.Signal()
}

// admitLocked reports whether a task of size bytes may wait: at once when a
// worker is free for it, else within the waiting bounds.
func (d *dispatcher) admitLocked(size int) bool {
	beyond := d.busy + d.waitingLocked() - d.max // tasks no worker is free for
	if beyond < 0 {
		return true
	}
	return beyond < maxWaitingTasks && d.backlogBytes+size <= maxWaitingBytes
}

func (d *dispatcher) waitingLocked() int { return len(d.backlog) - d.head }

// replyNow answers t with an error without blocking, and logs a failure.
func (d *dispatcher) replyNow(t Task, text string) {
	if err := d.tryReply(t, text); err != nil {
		d.log.Warn("task reply not sent", "id", t.ID, "token", t.Token, "reply", text, "err", err)
	}
}

func (d *dispatcher) tryReply(t Task, text string) error {
	if !t.state.answered.CompareAndSwap(false, true) {
		return nil
	}
	it, err := d.sink.errorReply(t.Token, text)
	if err != nil {
		return err
	}
	return d.sink.q.pushNow(it)
}

// work is one worker: it runs tasks until the dispatcher closes.
func (d *dispatcher) work() {
	for {
		j, ok := d.next()
		if !ok {
			return
		}
		d.finish(j.t, d.call(j.h, j.t))
		d.done()
	}
}

// next waits for a task; false once the dispatcher has closed.
func (d *dispatcher) next() (job, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for !d.closed && d.head == len(d.backlog) {
		d.ready.Wait()
	}
	if d.closed {
		d.workers--
		return job{}, false
	}
	j := d.backlog[d.head]
	d.backlog[d.head] = job{}
	d.head++
	d.backlog, d.head = compact(d.backlog, d.head)
	d.backlogBytes -= len(j.t.Content)
	d.busy++
	return j, true
}

// done marks the end of a worker's task.
func (d *dispatcher) done() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.busy--
	if d.closed && d.busy == 0 {
		close(d.idle)
	}
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
	var (
		it   item
		berr error
	)
	if err != nil {
		it, berr = d.sink.errorReply(t.Token, err.Error())
	} else {
		it, berr = d.sink.build(t.Token, time.Time{}, Fields{protocol.FieldDataType: typeTaskDone}, protocol.StatusOK)
	}
	if berr == nil {
		berr = d.sink.q.send(it)
	}
	if berr != nil {
		d.log.Warn("task reply not sent", "id", t.ID, "token", t.Token, "err", berr)
	}
}

// close stops new tasks and answers the waiting ones with an error; idle
// closes when the running handlers have returned.
func (d *dispatcher) close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	waiting := d.backlog[d.head:]
	d.backlog, d.head, d.backlogBytes = nil, 0, 0
	if d.busy == 0 {
		close(d.idle)
	}
	d.mu.Unlock()
	d.ready.Broadcast() // idle workers leave
	if len(waiting) == 0 {
		return
	}
	unanswered := 0
	for _, j := range waiting {
		if d.tryReply(j.t, "plugin shutting down") != nil {
			unanswered++
		}
	}
	d.log.Warn("queued tasks abandoned: shutting down", "count", len(waiting), "unanswered", unanswered)
}
