package lossy

import (
	"io"
	"sync/atomic"
	"time"
)

// Writer hands what is written to it to a goroutine that writes it to an
// output, so that a writer's caller never waits on that output: a log
// handler on the engine's goroutines writing to a stderr nobody reads would
// otherwise stop the engine. What does not fit in the byte budget is
// dropped, and the next write that fits says how much was lost first.
type Writer struct {
	q       *Queue[[]byte]
	lost    atomic.Uint64
	drained chan struct{}
}

// NewWriter writes to out through a queue of at most budget bytes.
func NewWriter(out io.Writer, budget int64) *Writer {
	w := &Writer{drained: make(chan struct{})}
	w.q = New(4096, &w.lost, lostNotice).WithBudget(budget, func(b []byte) int64 { return int64(len(b)) })
	go func() {
		defer close(w.drained)
		for b := range w.q.C() {
			_, _ = out.Write(b)
		}
	}()
	return w
}

func lostNotice(n uint64, _ []byte) []byte {
	return []byte("… " + itoa(n) + " log lines lost here: the log's output was not keeping up\n")
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}

// Write queues a copy of p and never waits.
func (w *Writer) Write(p []byte) (int, error) {
	w.q.Send(append([]byte(nil), p...))
	return len(p), nil
}

// Lost is how many writes were dropped.
func (w *Writer) Lost() uint64 { return w.lost.Load() }

// Close stops taking writes and waits up to grace for what is queued to be
// written; an output that does not take it by then is given up on.
func (w *Writer) Close(grace time.Duration) {
	w.q.Close()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-w.drained:
	case <-t.C:
	}
}
