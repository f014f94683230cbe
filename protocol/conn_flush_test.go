package protocol_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// TestEverySentFrameIsFlushed: in rounds of many senders at once (frames
// smaller and larger than the write buffer, messages refused, TrySend among
// them), once every Send of a round has returned the peer receives every
// frame accepted, with no later Send to push them out: no sender leaves its
// frame in the buffer for a flush that never comes. Run it with -race.
func TestEverySentFrameIsFlushed(t *testing.T) {
	const rounds, senders = 40, 24
	opts := protocol.Options{MaxFrame: 2048, BufferSize: 512, ReadTimeout: hangGuard}
	c, srv := connPair(t, opts)

	got := make(chan uint64, rounds*senders*4)
	recvDone := make(chan error, 1)
	go func() {
		for {
			m, err := srv.Recv()
			if err != nil {
				recvDone <- err
				return
			}
			switch m := m.(type) {
			case *protocol.Ping:
				got <- m.Seq
			case *protocol.Data:
				seq, _ := strconv.ParseUint(m.Records[0].Fields["seq"], 10, 64)
				got <- seq
			}
		}
	}()
	t.Cleanup(func() { c.Close(); srv.Close(); <-recvDone })

	var seq uint64
	for round := range rounds {
		var wg sync.WaitGroup
		var mu sync.Mutex
		want := map[uint64]bool{}
		accepted := func(s uint64) {
			mu.Lock()
			want[s] = true
			mu.Unlock()
		}
		for g := range senders {
			seq++
			s := seq
			wg.Add(1)
			go func() {
				defer wg.Done()
				var m protocol.Message
				switch (g + round) % 6 {
				case 0, 1:
					m = &protocol.Ping{Seq: s}
				case 2: // larger than the write buffer: it fills it on the way
					m = &protocol.Data{Records: []protocol.Record{{Fields: map[string]string{"data_type": "x", "seq": strconv.FormatUint(s, 10), "pad": strings.Repeat("p", 700+g)}}}}
				case 3:
					m = &protocol.Data{Records: []protocol.Record{{Fields: map[string]string{"data_type": "x", "seq": strconv.FormatUint(s, 10), "pad": strings.Repeat("q", g*7)}}}}
				case 4: // refused: over MaxFrame
					if err := c.Send(&protocol.Goodbye{Reason: strings.Repeat("x", 4096)}); err == nil {
						t.Error("an oversized frame was sent")
					}
					return
				case 5: // TrySend, which must not overtake buffered frames
					sent, err := c.TrySend(&protocol.Ping{Seq: s})
					if err != nil {
						t.Error(err)
					}
					if sent {
						accepted(s)
					}
					return
				}
				if err := c.Send(m); err != nil {
					t.Error(err)
					return
				}
				accepted(s)
			}()
		}
		wg.Wait()
		// No Send from here until the round's frames have all arrived.
		deadline := time.After(hangGuard)
		for len(want) > 0 {
			select {
			case s := <-got:
				if !want[s] {
					t.Fatalf("round %d: frame %d arrived, not one of this round's accepted", round, s)
				}
				delete(want, s)
			case err := <-recvDone:
				t.Fatalf("round %d: Recv: %v", round, err)
			case <-deadline:
				t.Fatalf("round %d: every Send returned, %d frames never arrived: %v", round, len(want), want)
			}
		}
	}
}
