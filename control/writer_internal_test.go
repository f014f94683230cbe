package control

import (
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// TestFrameWriterKeepsOrder: senders that write their own frames when the
// connection is idle and senders whose frames gather behind a write for the
// flusher, all at once on a real Unix socket: every frame arrives once,
// whole, and each sender's frames in the order it sent them.
func TestFrameWriterKeepsOrder(t *testing.T) {
	const senders, each = 8, 400
	client, server := socketPair(t)
	w := newFrameWriter(client, 10*time.Second, 1<<20, nil)
	defer w.close()
	got := make(chan map[int]int, 1)
	go func() { got <- readSeqFrames(t, server, senders*each) }()
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for n := range each {
				// Every third frame says more is coming, as a subscription's
				// backlog does; the next frame of the sender flushes it.
				if err := w.send(seqFrame{G: g, N: n}, n%3 == 0 && n < each-1); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	last := <-got
	for g := range senders {
		if last[g] != each-1 {
			t.Errorf("sender %d: last frame read %d, want %d", g, last[g], each-1)
		}
	}
}

type seqFrame struct{ G, N int }

// readSeqFrames reads n frames and fails on one out of its sender's order.
func readSeqFrames(t *testing.T, r io.Reader, n int) map[int]int {
	last := map[int]int{}
	var hdr [4]byte
	for i := range n {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			t.Errorf("frame %d: %v", i, err)
			return last
		}
		payload := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(r, payload); err != nil {
			t.Errorf("frame %d: %v", i, err)
			return last
		}
		var f seqFrame
		if err := msgpack.Unmarshal(payload, &f); err != nil {
			t.Errorf("frame %d: %v", i, err)
			return last
		}
		if prev, ok := last[f.G]; ok && f.N != prev+1 || !ok && f.N != 0 {
			t.Errorf("sender %d: frame %d after %d", f.G, f.N, prev)
		}
		last[f.G] = f.N
	}
	return last
}

func socketPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "w.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	if client, err = net.Dial("unix", ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}
