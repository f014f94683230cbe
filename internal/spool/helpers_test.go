package spool

import (
	"encoding/binary"
	"path/filepath"
	"testing"
)

// payload is the i-th pushed item, size bytes (at least 8): i, then a
// filler that differs from one item to the next.
func payload(i uint64, size int) []byte {
	b := make([]byte, max(size, 8))
	binary.LittleEndian.PutUint64(b, i)
	for j := 8; j < len(b); j++ {
		b[j] = byte(i) + byte(j)
	}
	return b
}

// checkPayload fails unless b is payload(i, size) for some size, and
// returns i.
func checkPayload(t testing.TB, b []byte) uint64 {
	t.Helper()
	if len(b) < 8 {
		t.Fatalf("item of %d bytes", len(b))
	}
	i := binary.LittleEndian.Uint64(b)
	for j := 8; j < len(b); j++ {
		if b[j] != byte(i)+byte(j) {
			t.Fatalf("item %d: byte %d is %d, want %d", i, j, b[j], byte(i)+byte(j))
		}
	}
	return i
}

func open(t testing.TB, opts Options) *Spool {
	t.Helper()
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func filePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "spool", "fleet.spool")
}

// readAll reads every item from the head in batches of batch items,
// without acking.
func readAll(s *Spool, batch, maxBytes int) []Item {
	var all []Item
	var after uint64
	for {
		got := s.Next(nil, after, batch, maxBytes)
		if len(got) == 0 {
			return all
		}
		all = append(all, got...)
		after = got[len(got)-1].Seq
	}
}

// checkConsecutive fails unless items have the sequences first, first+1, …
// and carry the payloads firstPayload, firstPayload+1, …
func checkConsecutive(t testing.TB, items []Item, first, firstPayload uint64) {
	t.Helper()
	for k, it := range items {
		if it.Seq != first+uint64(k) {
			t.Fatalf("item %d has sequence %d, want %d", k, it.Seq, first+uint64(k))
		}
		if p := checkPayload(t, it.Data); p != firstPayload+uint64(k) {
			t.Fatalf("item %d (seq %d) holds payload %d, want %d", k, it.Seq, p, firstPayload+uint64(k))
		}
	}
}

// checkBalance fails unless every item is accounted for.
func checkBalance(t testing.TB, s *Spool) {
	t.Helper()
	st := s.Stats()
	if held := uint64(st.MemoryItems + st.FileItems); st.Pushed+st.Recovered != st.Acked+st.Dropped+held {
		t.Fatalf("pushed %d + recovered %d != acked %d + dropped %d + held %d", st.Pushed, st.Recovered, st.Acked, st.Dropped, held)
	}
}
