package protocol_test

import (
	"errors"
	"net"
	"testing"

	"github.com/plugvisor/plugvisor/protocol"
)

// TrySend writes a frame whole or not at all, and never waits: filling a
// real socket with it ends in a refusal, not a block, and every frame it
// said it sent arrives intact and in order.
func TestTrySendWholeOrNothing(t *testing.T) {
	client, srv := connPair(t, protocol.Options{})
	sent := 0
	for {
		ok, err := client.TrySend(&protocol.Ping{Seq: uint64(sent + 1), Time: 1})
		if err != nil {
			t.Fatalf("TrySend %d: %v", sent+1, err)
		}
		if !ok {
			break
		}
		sent++
		if sent > 1<<20 {
			t.Fatal("a million frames and the socket never filled")
		}
	}
	if sent == 0 {
		t.Fatal("TrySend refused the first frame on an idle socket")
	}
	if st := client.Stats(); st.FramesOut != uint64(sent) {
		t.Errorf("FramesOut = %d, want the %d sent", st.FramesOut, sent)
	}
	// Send still works on a full socket (it waits), and follows in order.
	done := make(chan error, 1)
	go func() { done <- client.Send(&protocol.Ping{Seq: uint64(sent + 1)}) }()
	for want := uint64(1); want <= uint64(sent+1); want++ {
		m, err := srv.Recv()
		if err != nil {
			t.Fatalf("frame %d of %d: %v", want, sent+1, err)
		}
		if p, ok := m.(*protocol.Ping); !ok || p.Seq != want {
			t.Fatalf("frame %d is %#v", want, m)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Send after the refusal: %v", err)
	}
	if ok, err := client.TrySend(&protocol.Pong{Seq: 7}); !ok || err != nil {
		t.Fatalf("TrySend on a drained socket = %v, %v", ok, err)
	}
	if m, err := srv.Recv(); err != nil {
		t.Fatal(err)
	} else if p, ok := m.(*protocol.Pong); !ok || p.Seq != 7 {
		t.Fatalf("got %#v, want pong 7", m)
	}
}

// A connection without a socket underneath (a pipe) cannot be written
// without waiting, so TrySend leaves the frame to Send.
func TestTrySendNeedsASocket(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := protocol.NewConn(a, protocol.Options{})
	if ok, err := c.TrySend(&protocol.Ping{Seq: 1}); ok || err != nil {
		t.Fatalf("TrySend on a pipe = %v, %v; want not sent, no error", ok, err)
	}
	if st := c.Stats(); st.FramesOut != 0 {
		t.Errorf("FramesOut = %d after a refusal", st.FramesOut)
	}
}

// A frame over the limit is refused with the error Send gives, and
// nothing is written.
func TestTrySendRefusesOversize(t *testing.T) {
	client, _ := connPair(t, protocol.Options{MaxFrame: 64})
	ok, err := client.TrySend(&protocol.Pong{Seq: 1, Time: 1})
	if !ok || err != nil {
		t.Fatalf("small pong: %v, %v", ok, err)
	}
	big := &protocol.Data{Records: []protocol.Record{{Fields: map[string]string{"data_type": "x", "v": string(make([]byte, 200))}}}}
	if ok, err := client.TrySend(big); ok || !errors.Is(err, protocol.ErrFrameTooLarge) {
		t.Fatalf("oversize = %v, %v; want refused as too large", ok, err)
	}
}
