package protocol

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options tune a Conn. The zero value is usable.
type Options struct {
	MaxFrame     int           // largest payload accepted and sent; default DefaultMaxFrame
	ReadTimeout  time.Duration // Recv fails if the next frame has not arrived within it, or at most a sixteenth of it later (see Recv); 0 waits forever
	WriteTimeout time.Duration // a Send that cannot finish within it (or at most a sixteenth of it later) fails; 0 waits forever
	BufferSize   int           // read and write buffer size; default 16 KiB
}

// Stats counts a Conn's traffic. Bytes include the length prefixes.
type Stats struct {
	FramesIn, FramesOut   uint64
	BytesIn, BytesOut     uint64
	RecordsIn, RecordsOut uint64
}

// Conn exchanges messages over a stream. Send may be called from many
// goroutines; Recv from one at a time.
//
// Writes coalesce without a timer: a sender that finds others queued behind it
// leaves the flush to the last of them, and the last yields once before it
// flushes so that senders just woken can join, so a burst goes out in few
// syscalls and a lone message is flushed at once.
type Conn struct {
	nc       net.Conn
	opts     Options
	maxFrame atomic.Int64 // opts.MaxFrame, changeable by SetMaxFrame

	br   *bufio.Reader
	rbuf []byte
	dec  decoder
	rerr error // sticky: once framing is lost no later frame can be trusted
	last int   // payload bytes of the frame Recv last returned
	// When the read and write deadlines were last set (see renew).
	readArmed, writeArmed time.Time

	waiting atomic.Int32 // senders queued for wmu; the last one flushes
	wmu     sync.Mutex
	bw      *bufio.Writer
	wbuf    []byte
	werr    error // sticky: once a write failed the stream is out of sync

	framesIn, framesOut, bytesIn, bytesOut, recordsIn, recordsOut atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// NewConn wraps nc. The Conn owns nc from now on.
func NewConn(nc net.Conn, opts Options) *Conn {
	if opts.MaxFrame <= 0 {
		opts.MaxFrame = DefaultMaxFrame
	}
	if opts.BufferSize <= 0 {
		opts.BufferSize = 16 << 10
	}
	c := &Conn{
		nc:   nc,
		opts: opts,
		br:   bufio.NewReaderSize(nc, opts.BufferSize),
		bw:   bufio.NewWriterSize(nc, opts.BufferSize),
	}
	c.maxFrame.Store(int64(opts.MaxFrame))
	return c
}

// NetConn returns the underlying connection (for peer credentials).
func (c *Conn) NetConn() net.Conn { return c.nc }

// MaxFrame is the payload limit in force.
func (c *Conn) MaxFrame() int { return int(c.maxFrame.Load()) }

// SetMaxFrame changes the payload limit for later Sends and Recvs; n <= 0
// means DefaultMaxFrame. A plugin raises it to the supervisor's announced
// max_frame after the welcome, so a large task within that limit is not a
// protocol error.
func (c *Conn) SetMaxFrame(n int) {
	if n <= 0 {
		n = DefaultMaxFrame
	}
	c.maxFrame.Store(int64(n))
}

// SetReadTimeout changes the idle timeout of later Recv calls. Call it only
// from the goroutine that calls Recv.
func (c *Conn) SetReadTimeout(d time.Duration) {
	c.opts.ReadTimeout, c.readArmed = d, time.Time{}
}

// renew says when a deadline set at *armed for timeout should now be, or
// false to leave it: it is moved only once it has drawn a sixteenth of the
// timeout nearer, so a busy connection resets the poller's timer a few times
// per timeout instead of once per frame. It is set a sixteenth beyond the
// timeout, so it never comes sooner than the timeout promised.
func renew(armed *time.Time, timeout time.Duration, now time.Time) (time.Time, bool) {
	slack := timeout / 16
	if !armed.IsZero() && now.Sub(*armed) < slack {
		return time.Time{}, false
	}
	*armed = now
	return now.Add(timeout).Add(slack), true // apart: their sum may overflow a Duration
}

// keepBuffer is the largest read or write buffer a Conn keeps between
// frames: room for a batch of a few hundred records, so a busy stream reuses
// its buffers, while a rare multi-megabyte frame is let go.
const keepBuffer = 64 << 10

// Send encodes m and writes it as one frame. A message the peer would reject
// is refused with an error and nothing is written.
func (c *Conn) Send(m Message) error {
	c.waiting.Add(1)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	last := c.waiting.Add(-1) == 0
	if c.werr != nil {
		return c.werr
	}
	c.armWrite()
	err := c.buffer(m)
	// The last sender of a burst flushes for all before it, even when its own
	// message was refused: their frames must not wait for a Send that may
	// never come.
	if last && c.werr == nil && c.bw.Buffered() > 0 && c.yielded() {
		if ferr := c.bw.Flush(); ferr != nil {
			c.werr = fmt.Errorf("send %s: %w", m.Kind(), ferr)
			err = c.werr
		}
	}
	return err
}

// yielded lets the goroutines that are ready to send (the replies of tasks
// finishing together, the callers of a burst) queue their frames behind
// ours before we flush, and reports whether the flush is still ours: false
// when a sender came meanwhile, since the last of those flushes for all.
// Under load the last sender almost never finds another queued at the
// instant it flushes, so without the yield nearly every frame costs a
// write; with it, the frames of goroutines woken together leave in one.
// It is a yield, not a timer: with nothing else runnable it returns at
// once, and a lone frame waits for nothing. Called with wmu held, which it
// releases and takes again.
func (c *Conn) yielded() bool {
	c.wmu.Unlock()
	runtime.Gosched()
	c.wmu.Lock()
	return c.waiting.Load() == 0 && c.werr == nil && c.bw.Buffered() > 0
}

// buffer encodes m as a frame into the write buffer, which reaches the socket
// when it fills or when Send flushes.
func (c *Conn) buffer(m Message) error {
	frame, err := c.encode(m)
	if err != nil {
		return err
	}
	if _, err := c.bw.Write(frame); err != nil {
		c.werr = fmt.Errorf("send %s: %w", m.Kind(), err)
		return c.werr
	}
	c.sent(m, len(frame))
	return nil
}

// encode frames m in the Conn's write scratch, refusing a payload over the
// limit.
func (c *Conn) encode(m Message) ([]byte, error) {
	frame, err := AppendFrame(c.wbuf[:0], m)
	if cap(frame) <= keepBuffer {
		c.wbuf = frame[:0]
	}
	if err != nil {
		return nil, err
	}
	if size, limit := len(frame)-HeaderSize, c.MaxFrame(); size > limit {
		return nil, errorf(ErrFrameTooLarge, m.Kind(), "", "encoded payload of %d bytes exceeds the limit of %d; send fewer records per frame", size, limit)
	}
	return frame, nil
}

// sent counts a frame of m, of n bytes, as written.
func (c *Conn) sent(m Message, n int) {
	c.framesOut.Add(1)
	c.bytesOut.Add(uint64(n))
	switch d := m.(type) {
	case *Data:
		c.recordsOut.Add(uint64(len(d.Records)))
	case *EncodedData:
		c.recordsOut.Add(uint64(len(d.Records)))
	}
}

// TrySend sends m only if it can leave at once: no Send holds or waits for
// the Conn, nothing is buffered, and the socket takes the frame in one
// write without waiting. It reports whether m was sent; when it was not,
// nothing of m was written and the caller sends it another way.
//
// A reader that answers pings itself uses it: it must never wait on a
// write (PROTOCOL.md section 8), and handing each answer to a writing
// goroutine instead wakes a second thread for every ping an idle plugin
// gets. A socket that takes only part of the frame (a small frame on a
// Unix socket is taken whole or not at all) gets the rest as Send would.
func (c *Conn) TrySend(m Message) (bool, error) {
	sc, ok := c.nc.(syscall.Conn)
	if !ok || c.waiting.Load() != 0 || !c.wmu.TryLock() {
		return false, nil
	}
	defer c.wmu.Unlock()
	if c.werr != nil {
		return false, c.werr
	}
	if c.bw.Buffered() > 0 {
		return false, nil
	}
	frame, err := c.encode(m)
	if err != nil {
		return false, err
	}
	n, err := writeOnce(sc, frame)
	if err != nil {
		c.werr = fmt.Errorf("send %s: %w", m.Kind(), err)
		return false, c.werr
	}
	if n == 0 {
		return false, nil
	}
	if n < len(frame) {
		if err := c.finish(frame[n:]); err != nil {
			c.werr = fmt.Errorf("send %s: %w", m.Kind(), err)
			return true, c.werr
		}
	}
	c.sent(m, len(frame))
	return true, nil
}

// writeOnce makes one write of b to sc's socket without waiting for room:
// 0 bytes and no error when the socket is full or the call was interrupted.
func writeOnce(sc syscall.Conn, b []byte) (int, error) {
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, nil
	}
	var n int
	var werr error
	if err := raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true
	}); err != nil {
		return 0, err
	}
	if werr == syscall.EAGAIN || werr == syscall.EINTR {
		return 0, nil
	}
	return max(n, 0), werr
}

// armWrite moves the write deadline for a write about to wait (see renew).
func (c *Conn) armWrite() {
	if c.opts.WriteTimeout > 0 {
		if dl, ok := renew(&c.writeArmed, c.opts.WriteTimeout, time.Now()); ok {
			_ = c.nc.SetWriteDeadline(dl)
		}
	}
}

// finish writes the rest of a frame TrySend began, waiting as Send does.
func (c *Conn) finish(rest []byte) error {
	c.armWrite()
	if _, err := c.bw.Write(rest); err != nil {
		return err
	}
	return c.bw.Flush()
}

// Recv reads and decodes the next frame. A protocol error means the stream
// can no longer be trusted: the caller should close this Conn (and only it).
//
// A timeout before any byte of the next frame has been consumed leaves the
// stream intact, so the caller may Recv again (an idle connection is not a
// broken one). A timeout in the middle of a frame, a framing error or EOF is
// final: every later Recv returns the same error.
func (c *Conn) Recv() (Message, error) {
	if c.rerr != nil {
		return nil, c.rerr
	}
	if c.opts.ReadTimeout > 0 {
		if dl, ok := renew(&c.readArmed, c.opts.ReadTimeout, time.Now()); ok {
			_ = c.nc.SetReadDeadline(dl)
		}
	}
	// Peek keeps whatever part of the length prefix has arrived in the
	// buffer, so a timeout here consumes nothing.
	if _, err := c.br.Peek(HeaderSize); err != nil && IsTimeout(err) {
		return nil, err
	}
	payload, err := ReadFrame(c.br, c.rbuf, c.MaxFrame())
	if err != nil {
		if IsTimeout(err) {
			err = fmt.Errorf("protocol: peer stalled inside a frame: %w", err)
		}
		c.rerr = err
		return nil, err
	}
	if cap(payload) <= keepBuffer {
		c.rbuf = payload[:0]
	}
	c.last = len(payload)
	c.framesIn.Add(1)
	c.bytesIn.Add(uint64(len(payload) + HeaderSize))
	m, err := c.dec.decode(payload)
	if err != nil {
		return nil, err
	}
	if d, ok := m.(*Data); ok {
		c.recordsIn.Add(uint64(len(d.Records)))
	}
	return m, nil
}

// LastFrameSize is the payload size of the frame behind the message Recv
// last returned: every string of that message is among those bytes, so it
// bounds what the strings hold without walking them. Call it from the
// goroutine that calls Recv.
func (c *Conn) LastFrameSize() int { return c.last }

// Stats returns the traffic counters.
func (c *Conn) Stats() Stats {
	return Stats{
		FramesIn: c.framesIn.Load(), FramesOut: c.framesOut.Load(),
		BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(),
		RecordsIn: c.recordsIn.Load(), RecordsOut: c.recordsOut.Load(),
	}
}

// Close closes the connection; later calls return the first result.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.nc.Close() })
	return c.closeErr
}

// IsTimeout reports whether err is a read or write deadline expiring.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
