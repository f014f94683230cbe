package spool

import (
	"testing"
)

// One pusher and one reader at once, the reader keeping a window of
// batches in flight, acking the oldest, and now and then starting again
// from its last ack as after a reconnect. The spool is small enough that
// items spill to the file and some are dropped. Every item is accounted
// for, and the reader sees the kept ones in push order.
func TestConcurrentPushAndRead(t *testing.T) {
	s := open(t, Options{MemoryBytes: 32 << 10, FileBytes: 256 << 10, Path: filePath(t)})
	const n = 50_000
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		for i := range uint64(n) {
			s.Push(payload(i, 16+int(i%13)*40))
		}
	}()
	r := windowReader{t: t, s: s, sent: map[uint64]uint64{}}
	r.run(pushed)
	st := s.Stats()
	if st.Pushed != n || st.Acked != uint64(r.received) || st.Pushed != st.Acked+st.Dropped || s.Len() != 0 {
		t.Fatalf("pushed %d, received %d; stats %+v", n, r.received, st)
	}
	if st.Dropped == 0 || st.Acked == 0 || r.rewinds == 0 {
		t.Fatalf("the test did not overflow, deliver and rewind: %+v, %d rewinds", st, r.rewinds)
	}
	checkBalance(t, s)
}

// windowReader reads as the fleet link's publisher does.
type windowReader struct {
	t        *testing.T
	s        *Spool
	cursor   uint64            // the newest sequence read
	acked    uint64            // the newest acked
	inFlight []uint64          // the newest sequence of each batch read and not acked, oldest first
	sent     map[uint64]uint64 // payload by sequence, of what was read and not acked
	last     uint64            // the newest sequence ever read
	lastP    uint64
	received int
	rewinds  int
}

func (r *windowReader) run(pushed <-chan struct{}) {
	for batch := 0; ; batch++ {
		got := r.s.Next(nil, r.cursor, 64, 8<<10)
		r.take(got)
		if len(r.inFlight) > 4 || len(got) == 0 && len(r.inFlight) > 0 {
			r.ack()
		}
		if batch%97 == 0 && len(r.inFlight) > 0 {
			// A reconnect: what was in flight is read again from the ack.
			r.inFlight, r.cursor = nil, r.acked
			r.rewinds++
		}
		if len(got) > 0 || len(r.inFlight) > 0 {
			continue
		}
		select {
		case <-r.s.Ready():
		case <-pushed:
			if r.s.Len() == 0 {
				return
			}
		}
	}
}

func (r *windowReader) take(got []Item) {
	t := r.t
	for _, it := range got {
		p := checkPayload(t, it.Data)
		if it.Seq <= r.last {
			if want, ok := r.sent[it.Seq]; !ok || p != want {
				t.Fatalf("seq %d read again holds payload %d, first read %d (%v)", it.Seq, p, want, ok)
			}
			continue
		}
		if it.Seq != r.last+1 || r.received > 0 && p <= r.lastP {
			t.Fatalf("seq %d payload %d after seq %d payload %d", it.Seq, p, r.last, r.lastP)
		}
		r.last, r.lastP = it.Seq, p
		r.sent[it.Seq] = p
		r.received++
	}
	if len(got) > 0 {
		r.cursor = got[len(got)-1].Seq
		r.inFlight = append(r.inFlight, r.cursor)
	}
}

func (r *windowReader) ack() {
	r.acked = r.inFlight[0]
	r.inFlight = r.inFlight[1:]
	r.s.Ack(r.acked)
	for seq := range r.sent {
		if seq <= r.acked {
			delete(r.sent, seq)
		}
	}
}
