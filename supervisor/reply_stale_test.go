package supervisor

import (
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// TestReplyReadBeforeItsTaskWasSent: a caller that chose its token again
// (task A timed out, task B sent with A's token) must not have A's late
// reply, read before B was sent, taken for B's: B would end answered with a
// negative round trip and A's content.
func TestReplyReadBeforeItsTaskWasSent(t *testing.T) {
	s := &session{pending: map[string]*pendingTask{}, replyTask: 1 << 20, replyAll: 1 << 20,
		bus: newBus(func() int64 { return 1 << 20 }, func(Event) {}), rtts: &rttRing{}}
	read := time.Now()
	b := &pendingTask{task: protocol.Task{ID: 1, Token: "t"}, sent: read.Add(time.Millisecond), slot: -1, done: make(chan struct{})}
	s.pending["t"] = b
	late := protocol.Record{Token: "t", Fields: map[string]string{protocol.FieldTaskStatus: protocol.StatusOK, "from": "A"}}
	s.onReply(&late, read)
	if s.pending["t"] != b || len(b.records) != 0 {
		t.Fatalf("A's late reply was taken for B: pending %v, B's records %v", s.pending["t"], b.records)
	}
	select {
	case <-b.done:
		t.Fatal("B ended on A's reply")
	default:
	}
}
