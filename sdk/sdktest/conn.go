package sdktest

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/latest"
	"github.com/plugvisor/plugvisor/protocol"
)

// Conn is the supervisor's side of one plugin connection. A goroutine reads
// everything the plugin sends and keeps it for the Wait methods, which fail
// the test after Timeout; another answers the plugin's pings, so reading
// never waits on a write (PROTOCOL §8).
type Conn struct {
	Hello protocol.Hello

	t  testing.TB
	pc *protocol.Conn

	mu      sync.Mutex
	resumed sync.Cond
	paused  bool
	changed chan struct{} // closed and replaced on every arrival
	records []protocol.Record
	frames  int
	pings   int
	pongs   []protocol.Pong
	goodbye *protocol.Goodbye
	readErr error
	pongQ   latest.Box[protocol.Pong] // the latest ping to answer: it answers the earlier ones too
	seq     atomic.Uint64
	tokens  atomic.Uint64
}

func newConn(t testing.TB, pc *protocol.Conn, hello protocol.Hello) *Conn {
	c := &Conn{Hello: hello, t: t, pc: pc, changed: make(chan struct{}), pongQ: latest.New[protocol.Pong]()}
	c.resumed.L = &c.mu
	return c
}

// Welcome accepts the plugin and starts reading from it.
func (c *Conn) Welcome(w protocol.Welcome) {
	c.t.Helper()
	c.Send(&w)
	if w.MaxFrame > 0 {
		// Enforce the advertised limit as plugvisor does. A new Conn on the
		// same socket loses nothing: the plugin sends nothing between its
		// hello and our welcome, so the old reader holds no buffered bytes.
		c.pc = protocol.NewConn(c.pc.NetConn(), protocol.Options{MaxFrame: int(w.MaxFrame), ReadTimeout: Timeout})
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		c.readLoop()
	}()
	go c.pongLoop(stopped)
}

// Reject refuses the plugin and closes the connection, as plugvisor does.
func (c *Conn) Reject(code protocol.RejectCode, reason string) {
	c.t.Helper()
	c.Send(&protocol.Reject{Code: code, Reason: reason, Versions: protocol.Versions()})
	c.pc.Close()
}

// Send sends m or fails the test.
func (c *Conn) Send(m protocol.Message) {
	c.t.Helper()
	if err := c.pc.Send(m); err != nil {
		c.t.Fatalf("sdktest: send %s: %v", m.Kind(), err)
	}
}

// Close closes the connection: to the plugin the supervisor is gone.
func (c *Conn) Close() { c.pc.Close() }

func (c *Conn) readLoop() {
	for {
		c.waitResumed()
		m, err := c.pc.Recv()
		if err != nil {
			c.update(func() { c.readErr = err })
			return
		}
		if p, ok := m.(*protocol.Ping); ok {
			c.pongQ.Put(protocol.Pong{Seq: p.Seq, Time: p.Time})
		}
		c.update(func() { c.keep(m) })
	}
}

func (c *Conn) pongLoop(stopped <-chan struct{}) {
	for {
		select {
		case p := <-c.pongQ.C():
			// Best effort: a failed send shows up as a read error.
			_ = c.pc.Send(&p)
		case <-stopped:
			return
		}
	}
}

func (c *Conn) waitResumed() {
	c.mu.Lock()
	for c.paused {
		c.resumed.Wait()
	}
	c.mu.Unlock()
}

func (c *Conn) keep(m protocol.Message) {
	switch m := m.(type) {
	case *protocol.Data:
		c.records = append(c.records, m.Records...)
		c.frames++
	case *protocol.Ping:
		c.pings++
	case *protocol.Pong:
		c.pongs = append(c.pongs, *m)
	case *protocol.Goodbye:
		c.goodbye = m
	}
}

func (c *Conn) update(fn func()) {
	c.mu.Lock()
	fn()
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// Pause stops reading from the plugin (after the frame being read), so its
// writes back up; Resume reads again.
func (c *Conn) Pause() { c.mu.Lock(); c.paused = true; c.mu.Unlock() }

// Resume undoes Pause.
func (c *Conn) Resume() {
	c.mu.Lock()
	c.paused = false
	c.mu.Unlock()
	c.resumed.Broadcast()
}

// wait blocks until cond (called with c.mu held) is true.
func (c *Conn) wait(what string, cond func() bool) {
	c.t.Helper()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		ok, ch, err := cond(), c.changed, c.readErr
		c.mu.Unlock()
		switch {
		case ok:
			return
		case err != nil:
			c.t.Fatalf("sdktest: waiting for %s: connection ended: %v", what, err)
		}
		select {
		case <-ch:
		case <-timer.C:
			c.t.Fatalf("sdktest: no %s within %v", what, Timeout)
		}
	}
}

// Task sends a task and returns its token.
func (c *Conn) Task(id uint32, content string) string {
	c.t.Helper()
	token := fmt.Sprintf("tok-%d", c.tokens.Add(1))
	c.Send(&protocol.Task{ID: id, Content: content, Token: token})
	return token
}

// Reply is every record of one task.
type Reply struct {
	Progress []protocol.Record // records before the final one
	Final    protocol.Record   // the first record with task_status
}

// Status is the final record's task_status.
func (r Reply) Status() string { return r.Final.Fields[protocol.FieldTaskStatus] }

// WaitReply waits for the final record of the task with this token.
func (c *Conn) WaitReply(token string) Reply {
	c.t.Helper()
	var r Reply
	c.wait("reply to "+token, func() bool {
		r = Reply{}
		for _, rec := range c.records {
			if rec.Token != token {
				continue
			}
			if _, final := rec.Fields[protocol.FieldTaskStatus]; final {
				r.Final = rec
				return true
			}
			r.Progress = append(r.Progress, rec)
		}
		return false
	})
	return r
}

// Records returns the records received so far and the number of Data frames
// that carried them.
func (c *Conn) Records() ([]protocol.Record, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.records), c.frames
}

// WaitRecords waits until at least n records have arrived and returns them all.
func (c *Conn) WaitRecords(n int) []protocol.Record {
	c.t.Helper()
	c.wait(fmt.Sprintf("%d records", n), func() bool { return len(c.records) >= n })
	recs, _ := c.Records()
	return recs
}

// WaitType waits until at least n records of this data_type have arrived and
// returns those records.
func (c *Conn) WaitType(dataType string, n int) []protocol.Record {
	c.t.Helper()
	var got []protocol.Record
	c.wait(fmt.Sprintf("%d %q records", n, dataType), func() bool {
		got = got[:0]
		for _, rec := range c.records {
			if rec.DataType() == dataType {
				got = append(got, rec)
			}
		}
		return len(got) >= n
	})
	return got
}

// Ping sends a ping and returns its sequence number.
func (c *Conn) Ping() uint64 {
	c.t.Helper()
	seq := c.seq.Add(1)
	c.Send(&protocol.Ping{Seq: seq, Time: time.Now().UnixNano()})
	return seq
}

// WaitPong waits for the pong answering ping seq.
func (c *Conn) WaitPong(seq uint64) protocol.Pong {
	c.t.Helper()
	var got protocol.Pong
	c.wait(fmt.Sprintf("pong %d", seq), func() bool {
		for _, p := range c.pongs {
			if p.Seq == seq {
				got = p
				return true
			}
		}
		return false
	})
	return got
}

// Pongs is the number of pongs received.
func (c *Conn) Pongs() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.pongs) }

// Pings is the number of heartbeat pings the plugin has sent.
func (c *Conn) Pings() int { c.mu.Lock(); defer c.mu.Unlock(); return c.pings }

// WaitPings waits until the plugin has sent at least n heartbeat pings.
func (c *Conn) WaitPings(n int) {
	c.t.Helper()
	c.wait(fmt.Sprintf("%d pings", n), func() bool { return c.pings >= n })
}

// Shutdown asks the plugin to leave within grace.
func (c *Conn) Shutdown(grace time.Duration, reason string) {
	c.t.Helper()
	c.Send(&protocol.Shutdown{Grace: grace, Reason: reason})
}

// WaitGoodbye waits for the plugin's goodbye.
func (c *Conn) WaitGoodbye() protocol.Goodbye {
	c.t.Helper()
	c.wait("goodbye", func() bool { return c.goodbye != nil })
	c.mu.Lock()
	defer c.mu.Unlock()
	return *c.goodbye
}

// WaitClosed waits until the plugin's side of the connection ends and
// returns the read error (io.EOF for a clean close). Goodbye, if any, was
// received before.
func (c *Conn) WaitClosed() error {
	c.t.Helper()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		err, ch := c.readErr, c.changed
		c.mu.Unlock()
		if err != nil {
			return err
		}
		select {
		case <-ch:
		case <-timer.C:
			c.t.Fatalf("sdktest: connection still open after %v", Timeout)
		}
	}
}

// Goodbye returns the goodbye received so far, if any.
func (c *Conn) Goodbye() (protocol.Goodbye, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goodbye == nil {
		return protocol.Goodbye{}, false
	}
	return *c.goodbye, true
}
