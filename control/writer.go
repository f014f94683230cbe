package control

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/plugvisor/plugvisor/protocol"
)

// ErrFrameTooLarge is a message whose encoding exceeds the frame limit;
// nothing of it was written and the connection is unaffected. A Client's
// call returns it for a request too large to send.
var ErrFrameTooLarge = errors.New("frame too large")

// frameWriter serialises frames onto one connection from many goroutines.
//
// A sender that finds no write under way writes its frame itself, so a lone
// request or response costs no wake-up. Otherwise it encodes its frame onto
// the pending bytes and wakes the flusher, a goroutine of the writer's own
// that writes everything pending in one syscall: frames that arrive while a
// write is under way leave together in the next, so a burst of responses
// costs few syscalls. One write is under way at a time, in the order the
// frames were queued.
//
// Every write has a deadline: a peer that stops reading fails the writer for
// good, and a sender waits at most that long, for its own direct write or
// while the pending bytes exceed maxPending.
type frameWriter struct {
	nc      net.Conn
	timeout time.Duration
	max     int
	onFail  func(error) // called once, with the first write error

	mu      sync.Mutex
	space   sync.Cond // signalled when pending is taken or the writer fails
	pending bytes.Buffer
	spare   []byte
	enc     *msgpack.Encoder
	err     error
	closed  bool
	writing bool // a batch is being written, by the flusher or a sender
	failed  bool // a write failed: nothing more is written

	kick    chan struct{} // capacity 1: "there is something to write"
	quit    chan struct{} // closed by close: write what is left and return
	stopped chan struct{} // closed when the flusher has returned
}

// keepBuffer is the largest buffer kept for reuse between frames: a rare
// multi-megabyte frame is let go rather than held for the connection's life.
const keepBuffer = 64 << 10

// maxPending bounds the bytes queued behind a slow write.
const maxPending = 1 << 20

func newFrameWriter(nc net.Conn, timeout time.Duration, maxFrame int, onFail func(error)) *frameWriter {
	w := &frameWriter{nc: nc, timeout: timeout, max: maxFrame, onFail: onFail, enc: newEncoder(),
		kick: make(chan struct{}, 1), quit: make(chan struct{}), stopped: make(chan struct{})}
	w.space.L = &w.mu
	go w.flusher()
	return w
}

// wakeAt is how many pending bytes wake the flusher even when every sender
// says more is coming: a long burst leaves in writes of about this size
// instead of waiting for its end.
const wakeAt = 64 << 10

// send queues v as one frame. more says the caller will send again at once,
// so the flusher need not be woken for this one unless much is pending.
func (w *frameWriter) send(v any, more bool) error {
	w.mu.Lock()
	for w.err == nil && w.pending.Len() > maxPending {
		// Whoever filled the buffer may have sent everything with more;
		// without this wake nothing would ever drain it.
		w.wake()
		w.space.Wait()
	}
	err := w.err
	if err == nil {
		err = w.append(v)
	}
	if err == nil && !more && !w.writing {
		// Nobody is writing: this sender writes what is pending itself, so
		// a lone request or response costs no wake-up of the flusher. Under
		// load a write is usually under way, and frames gather behind it
		// for the flusher as before.
		batch := w.take()
		w.writing = true
		w.mu.Unlock()
		if !w.write(batch) {
			return w.failure()
		}
		return nil
	}
	big := w.pending.Len() >= wakeAt
	w.mu.Unlock()
	if err == nil && (!more || big) {
		w.wake()
	}
	return err
}

func (w *frameWriter) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *frameWriter) wake() {
	select {
	case w.kick <- struct{}{}:
	default: // already woken; it will see this frame too
	}
}

// append encodes v as a frame at the end of the pending bytes.
func (w *frameWriter) append(v any) error {
	at := w.pending.Len()
	w.pending.Write([]byte{0, 0, 0, 0})
	if err := encodeTo(&w.pending, w.enc, v); err != nil {
		w.pending.Truncate(at)
		return fmt.Errorf("encode: %w", err)
	}
	size := w.pending.Len() - at - protocol.HeaderSize
	if size > w.max {
		w.pending.Truncate(at)
		return fmt.Errorf("%w: %d bytes exceed the limit of %d", ErrFrameTooLarge, size, w.max)
	}
	binary.BigEndian.PutUint32(w.pending.Bytes()[at:], uint32(size))
	return nil
}

// flusher writes what is pending each time it is woken, until close.
func (w *frameWriter) flusher() {
	defer close(w.stopped)
	for {
		var quit bool
		select {
		case <-w.kick:
		case <-w.quit:
			quit = true
		}
		// Let the goroutines that are ready to send (responses finishing
		// together, a reader dispatching a burst) append before taking the
		// batch: a yield, not a timer, so an idle connection waits for
		// nothing.
		runtime.Gosched()
		w.mu.Lock()
		for w.writing {
			// A sender is writing, within the write timeout; what it
			// leaves is ours, and close must not return before it is out.
			w.space.Wait()
		}
		if w.failed {
			w.mu.Unlock()
			return
		}
		batch := w.take()
		w.writing = len(batch) > 0
		w.mu.Unlock()
		if len(batch) > 0 && !w.write(batch) || quit {
			return
		}
	}
}

// take hands the pending bytes to the flusher and gives the encoder the
// spare buffer, so senders append while the write is under way.
func (w *frameWriter) take() []byte {
	batch := w.pending.Bytes()
	if len(batch) == 0 {
		return nil
	}
	spare := w.spare
	if cap(spare) > keepBuffer {
		spare = nil
	}
	w.spare = nil
	w.pending = *bytes.NewBuffer(spare[:0])
	w.space.Broadcast()
	return batch
}

// write writes one batch and reports whether the writer is still usable.
func (w *frameWriter) write(batch []byte) bool {
	if w.timeout > 0 {
		_ = w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	_, err := w.nc.Write(batch)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writing = false
	w.space.Broadcast()
	if err == nil {
		w.spare = batch[:0]
		if w.pending.Len() > 0 {
			w.wake() // frames queued behind this write
		}
		return true
	}
	w.err, w.failed = fmt.Errorf("write: %w", err), true
	if w.onFail != nil {
		w.onFail(w.err)
	}
	return false
}

// flush wakes the flusher for frames sent with more and no follower.
func (w *frameWriter) flush() { w.wake() }

// close writes what is pending, within the write timeout, and stops the
// flusher. Later sends fail.
func (w *frameWriter) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		if w.err == nil {
			w.err = net.ErrClosed
		}
		w.space.Broadcast()
		close(w.quit)
	}
	w.mu.Unlock()
	<-w.stopped
}
