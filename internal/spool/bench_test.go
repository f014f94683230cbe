package spool

import (
	"testing"
)

// The fleet link's path when it keeps up: each record pushed, read and
// acked while still in memory.
func BenchmarkPushNextAck(b *testing.B) {
	s := open(b, Options{MemoryBytes: 1 << 20})
	data := payload(1, 200)
	dst := make([]Item, 0, 1)
	b.ReportAllocs()
	for b.Loop() {
		seq, ok := s.Push(data)
		dst = s.Next(dst[:0], seq-1, 1, 1<<20)
		if !ok || len(dst) != 1 {
			b.Fatal("lost an item")
		}
		s.Ack(seq)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

// The same with a window of 64 in flight.
func BenchmarkPushNextAckWindow(b *testing.B) {
	s := open(b, Options{MemoryBytes: 1 << 20})
	data := payload(1, 200)
	dst := make([]Item, 0, 64)
	var after uint64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Push(data)
		if i%64 == 63 {
			dst = s.Next(dst[:0], after, 64, 1<<20)
			after = dst[len(dst)-1].Seq
			s.Ack(after)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

// Pushes into a full memory tier, every item spilling to the file, the
// reader draining the file as it goes.
func BenchmarkPushSpillToFile(b *testing.B) {
	s := open(b, Options{MemoryBytes: 16 << 10, FileBytes: 64 << 20, Path: filePath(b)})
	data := payload(1, 200)
	var dst []Item
	var after uint64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := s.Push(data); !ok {
			b.Fatal("dropped")
		}
		if i%256 == 255 {
			dst = s.Next(dst[:0], after, 256, 1<<20)
			after = dst[len(dst)-1].Seq
			s.Ack(after)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}
