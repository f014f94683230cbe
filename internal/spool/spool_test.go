package spool

import (
	"math"
	"strings"
	"testing"
)

// Large items overflow a small memory into the file; reading from the head
// gives them all back in push order, across the two tiers.
func TestOrderAcrossTiers(t *testing.T) {
	s := open(t, Options{MemoryBytes: 64 << 10, FileBytes: 16 << 20, Path: filePath(t), First: 100})
	const n = 1000
	for i := range uint64(n) {
		if seq, ok := s.Push(payload(i, 1000+int(i%7)*100)); !ok || seq != 100+i {
			t.Fatalf("push %d: seq %d, ok %v", i, seq, ok)
		}
	}
	st := s.Stats()
	if st.FileItems < n*9/10 || st.MemoryItems == 0 || st.FileItems+st.MemoryItems != n {
		t.Fatalf("file %d items, memory %d: want most in the file", st.FileItems, st.MemoryItems)
	}
	if st.MemoryBytes > 64<<10 {
		t.Fatalf("memory holds %d bytes, past its budget", st.MemoryBytes)
	}
	all := readAll(s, 37, 20_000)
	if len(all) != n {
		t.Fatalf("read %d items, want %d", len(all), n)
	}
	checkConsecutive(t, all, 100, 0)
	s.Ack(all[n-1].Seq)
	if st := s.Stats(); st.FileItems != 0 || st.MemoryItems != 0 || st.FileUsed != 0 || st.Acked != n {
		t.Fatalf("after acking all: %+v", st)
	}
	checkBalance(t, s)
}

// With both tiers full the newest items are dropped and counted: what the
// spool keeps is the oldest, consecutive, and within both budgets.
func TestDropNewestWhenFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(t *testing.T) Options
	}{
		{"memory", func(*testing.T) Options { return Options{MemoryBytes: 10 << 10} }},
		{"memory and file", func(t *testing.T) Options {
			return Options{MemoryBytes: 10 << 10, FileBytes: 20 << 10, Path: filePath(t)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts(t)
			s := open(t, opts)
			kept := uint64(0)
			for i := range uint64(200) {
				if _, ok := s.Push(payload(i, 1000)); ok {
					if i != kept {
						t.Fatalf("item %d kept after an item was dropped", i)
					}
					kept++
				}
			}
			st := s.Stats()
			if kept == 0 || st.Dropped != 200-kept || st.DroppedBytes != 1000*(200-kept) {
				t.Fatalf("kept %d; stats %+v", kept, st)
			}
			if st.MemoryBytes > opts.MemoryBytes || st.FileUsed > opts.FileBytes {
				t.Fatalf("past the budgets: %+v", st)
			}
			// Full: memory cannot take one more item and the file not one more record.
			if st.MemoryBytes+1032 <= opts.MemoryBytes || opts.FileBytes > 0 && st.FileUsed+1016 <= opts.FileBytes {
				t.Fatalf("dropped while there was room: %+v", st)
			}
			all := readAll(s, 1000, 1<<20)
			if uint64(len(all)) != kept {
				t.Fatalf("read %d, kept %d", len(all), kept)
			}
			checkConsecutive(t, all, 1, 0)
			checkBalance(t, s)
		})
	}
}

// Acking the file's items cuts the file back, so the next overflow has
// room again; acking memory's makes room in memory.
func TestAckFreesRoomInBothTiers(t *testing.T) {
	opts := Options{MemoryBytes: 10 << 10, FileBytes: 10 << 10, Path: filePath(t)}
	s := open(t, opts)
	next := uint64(0)
	fill := func() {
		for {
			if _, ok := s.Push(payload(next, 1000)); !ok {
				return
			}
			next++
		}
	}
	fill()
	st := s.Stats()
	if st.FileItems == 0 || st.MemoryItems == 0 {
		t.Fatalf("not both tiers in use: %+v", st)
	}
	fileLast := uint64(st.FileItems) // sequences start at 1
	s.Ack(fileLast)
	if st := s.Stats(); st.FileItems != 0 || st.FileUsed != 0 || st.Acked != fileLast {
		t.Fatalf("after acking the file's items: %+v", st)
	}
	if _, ok := s.Push(payload(next, 1000)); !ok {
		t.Fatal("no room after the file's items were acked")
	}
	next++
	fill()
	// Ack all but the newest item, wherever it is: room in memory, and the
	// file is cut back since all it holds is acked.
	last := s.Next(nil, 0, 1000, 1<<20)
	s.Ack(last[len(last)-2].Seq)
	st = s.Stats()
	if st.MemoryItems+st.FileItems != 1 || st.FileUsed != 0 && st.FileItems == 0 {
		t.Fatalf("after acking all but one: %+v", st)
	}
	if _, ok := s.Push(payload(next, 1000)); !ok {
		t.Fatal("no room after acking memory's items")
	}
	next++
	all := readAll(s, 10, 1<<20)
	checkConsecutive(t, all, all[0].Seq, checkPayload(t, all[0].Data))
	if checkPayload(t, all[len(all)-1].Data) != next-1 {
		t.Fatalf("the newest item read is not the last pushed")
	}
	checkBalance(t, s)
}

func TestItemLargerThanMemoryIsDropped(t *testing.T) {
	for _, file := range []bool{false, true} {
		opts := Options{MemoryBytes: 4096}
		if file {
			opts.FileBytes, opts.Path = 1<<20, filePath(t)
		}
		s := open(t, opts)
		if _, ok := s.Push(make([]byte, 5000)); ok {
			t.Fatal("an item larger than memory's budget was kept")
		}
		// Its data alone fits, not with what an item costs besides.
		if _, ok := s.Push(make([]byte, 4096)); ok {
			t.Fatal("an item filling all of memory's budget was kept")
		}
		if seq, ok := s.Push(payload(7, 100)); !ok || seq != 1 {
			t.Fatalf("a small item after: seq %d ok %v", seq, ok)
		}
		st := s.Stats()
		if st.Dropped != 2 || st.DroppedBytes != 5000+4096 || st.MemoryItems != 1 {
			t.Fatalf("file %v: %+v", file, st)
		}
		checkBalance(t, s)
	}
}

// A publisher keeps a window in flight from a cursor; after a disconnect
// it reads from its last ack and gets the same items again.
func TestNextWindowAndReconnect(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(t *testing.T) Options
	}{
		{"memory", func(*testing.T) Options { return Options{MemoryBytes: 1 << 20} }},
		{"file", func(t *testing.T) Options {
			return Options{MemoryBytes: 3000, FileBytes: 1 << 20, Path: filePath(t)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, tc.opts(t))
			for i := range uint64(10) {
				if _, ok := s.Push(payload(i, 1000)); !ok {
					t.Fatalf("push %d dropped", i)
				}
			}
			if tc.name == "file" && s.Stats().FileItems < 7 {
				t.Fatalf("items not in the file: %+v", s.Stats())
			}
			w1 := s.Next(nil, 0, 3, 1<<20)
			checkConsecutive(t, w1, 1, 0)
			w2 := s.Next(nil, 3, 3, 1<<20)
			checkConsecutive(t, w2, 4, 3)
			if len(w1) != 3 || len(w2) != 3 {
				t.Fatalf("windows of %d and %d, want 3", len(w1), len(w2))
			}
			s.Ack(3)
			// Reconnect: start again from the last ack.
			again := s.Next(nil, 3, 100, 1<<20)
			if len(again) != 7 {
				t.Fatalf("after reconnect %d items, want 7", len(again))
			}
			checkConsecutive(t, again, 4, 3)
			if got := s.Next(nil, 3, math.MaxInt, math.MaxInt); len(got) != 7 {
				t.Fatalf("without bounds %d items, want 7", len(got))
			}
			// A cursor before the head reads from the head.
			if got := s.Next(nil, 0, 1, 1<<20); len(got) != 1 || got[0].Seq != 4 {
				t.Fatalf("from 0 after ack 3: %v", got)
			}
			// maxBytes bounds a batch but never starves it.
			if got := s.Next(nil, 3, 100, 2500); len(got) != 2 {
				t.Fatalf("2500 bytes gave %d items of 1000, want 2", len(got))
			}
			if got := s.Next(nil, 3, 100, 10); len(got) != 1 {
				t.Fatalf("10 bytes gave %d items of 1000, want 1", len(got))
			}
			if got := s.Next(nil, 10, 100, 1<<20); len(got) != 0 {
				t.Fatalf("past the newest: %d items", len(got))
			}
			s.Ack(10)
			if got := s.Next(nil, 0, 100, 1<<20); len(got) != 0 || s.Len() != 0 || s.Bytes() != 0 {
				t.Fatalf("after acking all: %d items, len %d, bytes %d", len(got), s.Len(), s.Bytes())
			}
			checkBalance(t, s)
		})
	}
}

// Ready is signalled by a push, so a reader waits without polling.
func TestReady(t *testing.T) {
	s := open(t, Options{MemoryBytes: 1 << 20})
	select {
	case <-s.Ready():
		t.Fatal("ready before any push")
	default:
	}
	s.Push(payload(0, 10))
	s.Push(payload(1, 10))
	<-s.Ready()
	if got := s.Next(nil, 0, 10, 1<<20); len(got) != 2 {
		t.Fatalf("read %d after ready", len(got))
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{}, "MemoryBytes 0"},
		{Options{MemoryBytes: 1 << 40}, "MemoryBytes 1099511627776"},
		{Options{MemoryBytes: 1 << 20, FileBytes: -1}, "FileBytes -1"},
		{Options{MemoryBytes: 1 << 20, FileBytes: 1 << 20}, "without a Path"},
	} {
		if _, err := Open(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %q", tc.opts, err, tc.want)
		}
	}
}

// After Close nothing is taken and nothing handed out.
func TestClosed(t *testing.T) {
	s := open(t, Options{MemoryBytes: 1 << 20})
	s.Push(payload(0, 10))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Push(payload(1, 10)); ok {
		t.Fatal("push after close kept")
	}
	if got := s.Next(nil, 0, 10, 1<<20); len(got) != 0 {
		t.Fatalf("next after close: %d", len(got))
	}
	if st := s.Stats(); st.Dropped != 2 {
		t.Fatalf("the item in memory at close and the push after: dropped %d", st.Dropped)
	}
	checkBalance(t, s)
}
