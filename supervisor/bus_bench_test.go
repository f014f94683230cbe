package supervisor

import (
	"testing"
	"time"
)

// The bus publishes every log line and record batch of every plugin, so its
// cost per event bounds the engine's throughput.

func BenchmarkBusPublishDrained(b *testing.B) {
	bus := newBus(func() int64 { return 16 << 20 }, nil)
	for range 4 {
		ch, cancel := bus.subscribe(4096)
		defer cancel()
		go func() {
			for range ch {
			}
		}()
	}
	e := Event{Type: EventLog, Time: time.Now(), Log: LogLine{Text: "line"}}
	b.ReportAllocs()
	for b.Loop() {
		bus.publish(e)
	}
}

func BenchmarkBusPublishFull(b *testing.B) {
	bus := newBus(func() int64 { return 16 << 20 }, nil)
	for range 4 {
		_, cancel := bus.subscribe(16) // never read: every event is a loss
		defer cancel()
	}
	e := Event{Type: EventLog, Time: time.Now(), Log: LogLine{Text: "line"}}
	b.ReportAllocs()
	for b.Loop() {
		bus.publish(e)
	}
}

func BenchmarkLogRingAdd(b *testing.B) {
	r := newLogRing(logRingLines, 256<<10)
	l := LogLine{Text: "line"}
	b.ReportAllocs()
	for b.Loop() {
		r.add(l)
	}
}

func BenchmarkRTTRingAdd(b *testing.B) {
	var r rttRing
	b.ReportAllocs()
	for b.Loop() {
		r.add(time.Millisecond)
	}
}
