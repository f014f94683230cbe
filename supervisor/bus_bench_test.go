package supervisor

import (
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
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

// The history is told of every event as it is published, on the
// publisher's goroutine: these measure publish with the engine's own keep,
// one drained subscriber beside it.
func benchKept(b *testing.B, publish func(*bus, int)) {
	h := newHistory(0)
	bus := newBus(func() int64 { return 16 << 20 }, h.keep)
	ch, cancel := bus.subscribe(4096)
	defer cancel()
	go func() {
		for range ch {
		}
	}()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		publish(bus, i)
		i++
	}
}

var benchIDs = [...]string{"p.0", "p.1", "p.2", "p.3", "p.4", "p.5", "p.6", "p.7"}

func BenchmarkBusPublishStateKept(b *testing.B) {
	benchKept(b, func(bus *bus, i int) {
		id := benchIDs[i%len(benchIDs)]
		bus.publish(Event{Type: EventState, Plugin: "p", Instance: id, State: StateRunning, Prev: StateStarting, Reason: "registered"})
	})
}

func BenchmarkBusPublishRecordsKept(b *testing.B) {
	recs := make([]protocol.Record, 16)
	for i := range recs {
		recs[i] = protocol.Record{Token: "t", Fields: map[string]string{"data_type": "sample", "value": "42"}}
	}
	benchKept(b, func(bus *bus, i int) {
		bus.publishRecords(Event{Type: EventRecords, Plugin: "p", Instance: benchIDs[i%len(benchIDs)], Records: recs}, 16*64)
	})
}

func BenchmarkBusPublishSupervisorLogKept(b *testing.B) {
	l := &SupervisorLog{Level: "INFO", Message: "state", Attrs: "from=starting to=running"}
	benchKept(b, func(bus *bus, i int) {
		bus.publish(Event{Type: EventSupervisorLog, SupervisorLog: l})
	})
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
