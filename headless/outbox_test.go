package headless

import (
	"errors"
	"strings"
	"syscall"
	"testing"
)

func chunkOf(n, records int) chunk { return chunk{b: []byte(strings.Repeat("x", n)), records: records} }

// TestOutboxDropsBeyondBudget: what does not fit is dropped and counted in
// records and bytes; written bytes leave the budget only once written.
func TestOutboxDropsBeyondBudget(t *testing.T) {
	o := newOutbox(100)
	if !o.put(chunkOf(60, 3)) {
		t.Fatal("a first chunk within budget was dropped")
	}
	if o.put(chunkOf(60, 2)) {
		t.Fatal("a chunk beyond budget was queued")
	}
	if _, ok := o.next(); !ok {
		t.Fatal("no chunk to write")
	}
	if o.put(chunkOf(60, 2)) {
		t.Fatal("a chunk queued while the one in flight still holds the budget")
	}
	o.written()
	if !o.put(chunkOf(60, 2)) {
		t.Fatal("the budget was not given back once written")
	}
	if got := o.losses().overBudget; got != (loss{records: 4, bytes: 120}) {
		t.Fatalf("over budget %+v, want 4 records, 120 bytes", got)
	}
}

// blockedWriter is an output that never takes anything, like a pipe nobody
// reads.
type blockedWriter struct {
	started chan struct{}
	release chan struct{}
}

func (w *blockedWriter) Write(p []byte) (int, error) {
	w.started <- struct{}{}
	<-w.release
	return 0, errors.New("released")
}

// TestOutboxAbandonCountsWhatIsLeft: at exit, the chunk blocked in write
// and those queued behind it are counted as lost; later ones too.
func TestOutboxAbandonCountsWhatIsLeft(t *testing.T) {
	o := newOutbox(1 << 20)
	w := &blockedWriter{started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.writeAll(w, func(error) { t.Error("a write given up on was reported as failed") })
	}()
	o.put(chunkOf(10, 1))
	<-w.started
	o.put(chunkOf(20, 2))
	o.put(chunkOf(30, 3))
	o.abandon()
	o.put(chunkOf(40, 4))
	close(w.release)
	<-done
	l := o.losses()
	if l.abandoned != (loss{records: 6, bytes: 60}) || l.failed != (loss{records: 4, bytes: 40}) {
		t.Fatalf("losses %+v, want 6 records/60 bytes abandoned and 4/40 after", l)
	}
}

// TestOutboxWriteFails: a failed output is said once; what was queued and
// what comes later is counted.
func TestOutboxWriteFails(t *testing.T) {
	o := newOutbox(1 << 20)
	o.put(chunkOf(10, 1))
	o.put(chunkOf(20, 2))
	var said []error
	o.writeAll(writerFunc(func([]byte) (int, error) { return 0, syscall.EPIPE }), func(err error) { said = append(said, err) })
	o.put(chunkOf(30, 3))
	if len(said) != 1 || !errors.Is(said[0], syscall.EPIPE) {
		t.Fatalf("failure said %v, want EPIPE once", said)
	}
	if got := o.losses().failed; got != (loss{records: 6, bytes: 60}) {
		t.Fatalf("failed %+v, want 6 records, 60 bytes", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
