package lossy

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// item is a value or, when lost > 0, a notice.
type item struct {
	producer, seq int
	lost          uint64
}

func notice(lost uint64, next item) item { return item{producer: next.producer, lost: lost} }

func TestQueueDropsCountsAndTells(t *testing.T) {
	var total atomic.Uint64
	q := New(2, &total, notice)
	for i := range 10 {
		q.Send(item{seq: i})
	}
	if total.Load() != 8 {
		t.Fatalf("total %d, want 8", total.Load())
	}
	for _, want := range []int{0, 1} {
		if v := <-q.C(); v.lost != 0 || v.seq != want {
			t.Fatalf("kept %+v, want seq %d", v, want)
		}
	}
	q.Send(item{seq: 10})
	if v := <-q.C(); v.lost != 8 {
		t.Fatalf("want a notice of 8, got %+v", v)
	}
	if v := <-q.C(); v.seq != 10 {
		t.Fatalf("after the notice %+v", v)
	}
}

// When there is room for one, the notice takes it: the value behind it is
// lost too, and counted in the next notice.
func TestQueueNoticeFirstOrNothing(t *testing.T) {
	var total atomic.Uint64
	q := New(2, &total, notice)
	for i := range 3 { // 2 is lost
		q.Send(item{seq: i})
	}
	<-q.C()
	q.Send(item{seq: 3}) // the notice of 2 takes the room; 3 is lost
	for _, want := range []item{{seq: 1}, {lost: 1}} {
		if v := <-q.C(); v != want {
			t.Fatalf("got %+v, want %+v", v, want)
		}
	}
	q.Send(item{seq: 4})
	for _, want := range []item{{lost: 1}, {seq: 4}} {
		if v := <-q.C(); v != want {
			t.Fatalf("got %+v, want %+v", v, want)
		}
	}
	if total.Load() != 2 {
		t.Fatalf("total %d, want 2", total.Load())
	}
}

// Losses reported from upstream share a notice with local ones but are not
// local losses.
func TestQueueLostMergesUpstreamLosses(t *testing.T) {
	var total atomic.Uint64
	q := New(2, &total, notice)
	q.Lost(5, item{})
	if v := <-q.C(); v.lost != 5 || total.Load() != 0 {
		t.Fatalf("got %+v, total %d", v, total.Load())
	}
	for i := range 3 { // 2 is lost
		q.Send(item{seq: i})
	}
	q.Lost(3, item{}) // no room: carried
	<-q.C()
	<-q.C()
	q.Send(item{seq: 4})
	for _, want := range []item{{lost: 4}, {seq: 4}} {
		if v := <-q.C(); v != want {
			t.Fatalf("got %+v, want %+v", v, want)
		}
	}
	if total.Load() != 1 {
		t.Fatalf("total %d, want the one local loss", total.Load())
	}
}

func TestQueueClose(t *testing.T) {
	var total atomic.Uint64
	q := New(1, &total, notice)
	q.Close()
	q.Close()
	q.Send(item{})
	q.Lost(1, item{})
	if _, ok := <-q.C(); ok || total.Load() != 0 {
		t.Fatalf("a closed queue delivered or counted: total %d", total.Load())
	}
}

// One producer and a slow consumer: every value the consumer receives has
// been preceded by notices accounting for every value sent before it.
func TestQueueNoticePrecedesWhatFollows(t *testing.T) {
	const n = 200_000
	var total atomic.Uint64
	q := New(16, &total, notice)
	done := make(chan struct{})
	var delivered, reported uint64
	go func() {
		defer close(done)
		for v := range q.C() {
			if v.lost > 0 {
				reported += v.lost
				continue
			}
			if uint64(v.seq) != delivered+reported {
				t.Errorf("seq %d arrived after %d delivered and %d reported lost", v.seq, delivered, reported)
				return
			}
			delivered++
		}
	}()
	for i := range n {
		q.Send(item{seq: i})
	}
	waitEmpty(q)
	q.Send(item{seq: n}) // flushes the last notice, if any
	waitEmpty(q)
	q.Close()
	<-done
	if delivered+reported != n+1 || total.Load() != reported {
		t.Fatalf("%d delivered + %d reported of %d, total %d", delivered, reported, n+1, total.Load())
	}
	if reported == 0 {
		t.Log("the consumer kept up: no loss exercised")
	}
}

// Many producers: nothing is lost without being counted, each producer's
// values keep their order, and the count of all losses matches the notices.
func TestQueueConcurrentAccounting(t *testing.T) {
	const producers, each = 8, 20_000
	var total atomic.Uint64
	q := New(64, &total, notice)
	done := make(chan struct{})
	var delivered, reported uint64
	go func() {
		defer close(done)
		last := make([]int, producers+1)
		for i := range last {
			last[i] = -1
		}
		for v := range q.C() {
			if v.lost > 0 {
				reported += v.lost
				continue
			}
			if v.seq <= last[v.producer] {
				t.Errorf("producer %d: seq %d after %d", v.producer, v.seq, last[v.producer])
			}
			last[v.producer] = v.seq
			delivered++
		}
	}()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				q.Send(item{producer: p, seq: i})
			}
		})
	}
	wg.Wait()
	waitEmpty(q)
	q.Send(item{producer: producers, seq: 0})
	waitEmpty(q)
	q.Close()
	<-done
	if delivered+reported != producers*each+1 || total.Load() != reported {
		t.Fatalf("%d delivered + %d reported of %d, total %d", delivered, reported, producers*each+1, total.Load())
	}
}

func waitEmpty[T any](q *Queue[T]) {
	for len(q.ch) > 0 {
		// The consumer is draining; spinning keeps the test free of timers.
		runtime.Gosched()
	}
}

func BenchmarkQueueSendDrained(b *testing.B) {
	var total atomic.Uint64
	q := New(4096, &total, notice)
	go func() {
		for range q.C() {
		}
	}()
	defer q.Close()
	b.ReportAllocs()
	for b.Loop() {
		q.Send(item{seq: 1})
	}
}

func BenchmarkQueueSendFull(b *testing.B) {
	var total atomic.Uint64
	q := New(16, &total, notice)
	defer q.Close()
	b.ReportAllocs()
	for b.Loop() {
		q.Send(item{seq: 1})
	}
}

// TestBudgetBoundsBytes: with a byte budget, values are dropped once what
// the queue holds would pass it, though there is room by count; what the
// consumer takes frees its bytes; a value larger than the budget still goes
// through an empty queue, so no value is undeliverable.
func TestBudgetBoundsBytes(t *testing.T) {
	var total atomic.Uint64
	size := func(v item) int64 { return int64(v.seq) }
	q := New(100, &total, notice).WithBudget(100, size)
	for _, n := range []int{40, 40, 40} { // the third passes 100
		q.Send(item{seq: n})
	}
	if total.Load() != 1 || q.LostBytes() != 40 {
		t.Fatalf("lost %d values, %d bytes; want 1 and 40", total.Load(), q.LostBytes())
	}
	<-q.C()               // frees 40
	q.Send(item{seq: 50}) // 40 held + the notice + 50: fits
	got := []item{<-q.C(), <-q.C(), <-q.C()}
	if got[0].seq != 40 || got[1].lost != 1 || got[2].seq != 50 {
		t.Fatalf("after taking one: %+v", got)
	}
	q.Send(item{seq: 500}) // larger than the budget, into an empty queue
	if v := <-q.C(); v.seq != 500 {
		t.Fatalf("an oversized value into an empty queue: %+v", v)
	}
	q.Send(item{seq: 60})
	q.Send(item{seq: 60}) // 60 + 60 > 100
	if total.Load() != 2 {
		t.Fatalf("lost %d, want 2", total.Load())
	}
}

// TestBudgetUnderConcurrency: producers and a consumer at once; the bytes
// the queue says it holds never pass the budget by more than one value.
func TestBudgetUnderConcurrency(t *testing.T) {
	var total atomic.Uint64
	q := New(1000, &total, notice).WithBudget(1000, func(v item) int64 { return 10 })
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				q.Send(item{producer: p, seq: i})
			}
		})
	}
	done := make(chan struct{})
	var got int
	go func() {
		defer close(done)
		for range q.C() {
			got++
			q.mu.Lock()
			if q.held > 1000+10 {
				t.Errorf("holds %d bytes over a budget of 1000", q.held)
			}
			q.mu.Unlock()
		}
	}()
	wg.Wait()
	q.Close()
	<-done
	if uint64(got)+total.Load() < 20000 {
		t.Fatalf("delivered %d and lost %d of 20000 (notices count among delivered)", got, total.Load())
	}
}
