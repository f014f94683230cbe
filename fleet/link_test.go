package fleet

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/plugvisor/plugvisor/internal/natstest"
	"github.com/plugvisor/plugvisor/internal/spool"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// linkRig is a link between a fed engine and a real JetStream.
type linkRig struct {
	srv  *natstest.Server
	feed *engineFeed
	link *Link
	seq  int
}

func startLinkRig(t *testing.T, spoolBytes int64, configure ...func(*server.Options)) *linkRig {
	t.Helper()
	stream := StreamConfig{Name: "PLUGVISOR_RECORDS", Subjects: StreamSubjects("plugvisor"), Create: true, Duplicates: time.Minute}
	return startLinkRigStream(t, spoolBytes, stream, configure...)
}

// startLinkRigStream is startLinkRig with the link's stream settings.
func startLinkRigStream(t *testing.T, spoolBytes int64, stream StreamConfig, configure ...func(*server.Options)) *linkRig {
	t.Helper()
	o := natstest.Options{JetStream: true}
	if len(configure) > 0 {
		o.Configure = configure[0]
	}
	srv := natstest.Start(t, o)
	subjects := Subjects{Prefix: "plugvisor", Host: "h1"}
	nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
		nats.ReconnectBufSize(-1), nats.CustomInboxPrefix(subjects.Inbox()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sp, err := spool.Open(spool.Options{MemoryBytes: spoolBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	r := &linkRig{srv: srv, feed: &engineFeed{events: make(chan supervisor.Event, 64)}}
	r.link, err = StartLink(context.Background(), LinkOptions{Conn: nc, API: r.feed, Subjects: subjects,
		Stream: stream, Spool: sp, PublishWindow: rigWindow})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.link.Close)
	return r
}

// rigWindow is the rig's publish window.
const rigWindow = 64 << 10

// emit feeds n records of ten at a time, numbered on from the last.
func (r *linkRig) emit(n int) { r.emitAs("tick", n) }

// emitAs is emit with the records' data type.
func (r *linkRig) emitAs(dataType string, n int) {
	for n > 0 {
		recs := make([]protocol.Record, min(n, 10))
		for i := range recs {
			r.seq++
			recs[i] = protocol.Record{Timestamp: int64(r.seq), Fields: map[string]string{"data_type": dataType, "seq": strconv.Itoa(r.seq)}}
		}
		r.feed.events <- supervisor.Event{Type: supervisor.EventRecords, Plugin: "ticker", Instance: "ticker", Records: recs}
		n -= len(recs)
	}
}

// settled waits until every record fed is stored or counted as dropped.
func (r *linkRig) settled(t *testing.T) Stats {
	t.Helper()
	var s Stats
	testutil.WaitUntil(t, "every record stored or dropped", 60*time.Second, func() bool {
		s = r.link.Stats()
		return s.SpoolRecords == 0 && s.Acked+s.Dropped == uint64(r.seq)
	})
	return s
}

// stored reads the stream's seq fields in stream order.
func (r *linkRig) stored(t *testing.T) []int {
	t.Helper()
	nc, err := nats.Connect(r.srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, "PLUGVISOR_RECORDS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		var f map[string]string
		if err := json.Unmarshal(m.Data, &f); err != nil {
			t.Fatal(err)
		}
		if m.Subject != "plugvisor.rec.h1.ticker.tick" || m.Header.Get(HeaderInstance) != "ticker" || m.Header.Get(nats.MsgIdHdr) == "" {
			t.Fatalf("stored %s with headers %v", m.Subject, m.Header)
		}
		n, _ := strconv.Atoi(f["seq"])
		out = append(out, n)
	}
	return out
}

func increasing(t *testing.T, seqs []int) {
	t.Helper()
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("stored seq %d after %d (at %d of %d): twice or out of order", seqs[i], seqs[i-1], i, len(seqs))
		}
	}
}

func TestLinkStoresEachRecordOnceInOrder(t *testing.T) {
	r := startLinkRig(t, 8<<20)
	r.emit(5000)
	s := r.settled(t)
	got := r.stored(t)
	if len(got) != 5000 || s.Dropped != 0 {
		t.Fatalf("stored %d of 5000, dropped %d", len(got), s.Dropped)
	}
	increasing(t, got)
}

// While the server is down, records wait in a spool of 32 KiB: those that
// fit are stored once it is back, after those stored before, the rest are
// counted (a flood fills so small a spool even while connected), and none
// is stored twice.
func TestLinkOutageSpoolsInOrderAndCountsTheRest(t *testing.T) {
	r := startLinkRig(t, 32<<10)
	r.emit(500)
	r.settled(t)
	r.srv.Stop()
	testutil.WaitUntil(t, "the link to see the outage", 20*time.Second, func() bool { return !r.link.Stats().Connected })
	r.emit(3000) // far more than 32 KiB of records
	testutil.WaitUntil(t, "the spool to overflow", 20*time.Second, func() bool { return r.link.Stats().Dropped > 0 })
	r.srv.Restart()
	r.settled(t)
	for range 10 { // paced, as a plugin emits: none of these may be lost
		r.emit(50)
		r.settled(t)
	}
	s := r.settled(t)
	got := r.stored(t)
	if uint64(len(got))+s.Dropped != uint64(r.seq) {
		t.Fatalf("stored %d + dropped %d != emitted %d", len(got), s.Dropped, r.seq)
	}
	increasing(t, got)
	spooled := 0
	for _, n := range got {
		if n > 500 && n <= 3500 {
			spooled++
		}
	}
	if spooled == 0 || got[len(got)-1] != r.seq || got[len(got)-500] != r.seq-499 {
		t.Fatalf("stored %d records emitted during the outage, the last stored %d of %d", spooled, got[len(got)-1], r.seq)
	}
	t.Logf("emitted %d, stored %d, dropped %d, resent %d", r.seq, len(got), s.Dropped, s.Retried)
}

// A record larger than the server takes is dropped and counted at once:
// sent, it would be refused at every attempt and hold back every record
// behind it.
func TestLinkDropsARecordTheServerCannotTake(t *testing.T) {
	r := startLinkRig(t, 8<<20, func(o *server.Options) { o.MaxPayload = 8 << 10 })
	r.emit(10)
	r.seq++
	big := protocol.Record{Fields: map[string]string{"data_type": "tick", "seq": strconv.Itoa(r.seq), "blob": strings.Repeat("x", 16<<10)}}
	r.feed.events <- supervisor.Event{Type: supervisor.EventRecords, Plugin: "ticker", Instance: "ticker", Records: []protocol.Record{big}}
	r.emit(10)
	s := r.settled(t)
	got := r.stored(t)
	if len(got) != 20 || s.Dropped != 1 || got[10] != 12 {
		t.Fatalf("stored %d (%v), dropped %d; want the 20 small ones and the big one dropped", len(got), got, s.Dropped)
	}
}

// A stream deleted under a running link is made again (create_stream),
// and the records go on into it.
func TestLinkMakesALostStreamAgain(t *testing.T) {
	r := startLinkRig(t, 8<<20)
	r.emit(100)
	r.settled(t)
	nc, err := nats.Connect(r.srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if err := js.DeleteStream(context.Background(), "PLUGVISOR_RECORDS"); err != nil {
		t.Fatal(err)
	}
	r.emit(100)
	s := r.settled(t)
	got := r.stored(t)
	if len(got) != 100 || got[0] != 101 || s.Dropped != 0 {
		t.Fatalf("after the stream was lost: stored %d from %v, dropped %d", len(got), got[:min(len(got), 3)], s.Dropped)
	}
}

// A rewind sends the records not acknowledged again while those of the
// earlier pass may still wait in nats.go for their ack: the window counts
// every record published and not yet answered, whatever its pass, so a
// rewind never puts more than a window in flight. Here the first record's
// subject has no responder (an error at once, which rewinds the pass) and
// the others reach a subscriber that never answers (they wait for the ack
// timeout), so each pass after the first finds the window full of the
// first pass's records.
func TestLinkWindowCountsEarlierPassesInFlight(t *testing.T) {
	r := startLinkRigStream(t, 8<<20, StreamConfig{Name: "PLUGVISOR_RECORDS", Subjects: StreamSubjects("plugvisor")})
	nc, err := nats.Connect(r.srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	hole, err := nc.SubscribeSync("plugvisor.rec.h1.ticker.hole")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	enc := recordEncoder{subjects: r.link.enc.subjects, idPrefix: r.link.enc.idPrefix}
	minBlob := len(enc.blob("ticker", "ticker", &protocol.Record{Fields: map[string]string{"data_type": "hole", "seq": "1"}}))
	enc.next = 99999
	maxBlob := len(enc.blob("ticker", "ticker", &protocol.Record{Fields: map[string]string{"data_type": "hole", "seq": "99999"}}))
	r.emitAs("void", 1)
	r.emitAs("hole", 3000)
	// A second full pass has gone out: with the earlier one counted, only
	// once the first pass's acks have timed out.
	perWindow := rigWindow/maxBlob - 1
	testutil.WaitUntil(t, "a second pass sent", 60*time.Second, func() bool { return r.link.Stats().Retried >= uint64(perWindow) })
	pending := r.link.pub.js.PublishAsyncPending()
	if limit := (rigWindow + maxBlob) / minBlob; pending > limit {
		t.Fatalf("%d records awaiting their ack in nats.go, at least %d bytes; the window is %d bytes (%d records)",
			pending, pending*minBlob, rigWindow, limit)
	}
	if held := r.link.pub.held(); held > rigWindow+maxBlob {
		t.Fatalf("the publisher counts %d bytes in flight; the window is %d", held, rigWindow)
	}
}
