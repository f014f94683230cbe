package protocol_test

import (
	"bytes"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/sys/unix"

	"github.com/plugvisor/plugvisor/protocol"
)

// BenchmarkRecordDecode decodes a data payload with protocol.Decode and,
// interleaved in the same loop so that the machine's weather falls on both,
// with the generic msgpack library into typed structs: x_generic is ours
// over theirs, per record. A third, the floor of any decoder that hands
// out a map per record, only builds the same maps from strings already
// made: x_maps is ours over it. Each is timed in its thread's CPU time, which
// other processes on a shared machine do not inflate as they do the wall
// clock's. Two shapes: the 5-field record of the other
// benchmarks in batches of 256, and chaos's 3-field flood record in the
// batches its 10 ms steps make at 100k records/s.
func BenchmarkRecordDecode(b *testing.B) {
	for _, c := range []struct {
		name string
		data *protocol.Data
	}{
		{"5-fields-256", benchBatch()},
		{"flood-3-fields-80", floodBatch(80)},
	} {
		b.Run(c.name, func(b *testing.B) { decodeVsGeneric(b, c.data) })
	}
}

func floodBatch(n int) *protocol.Data {
	recs := make([]protocol.Record, n)
	for i := range recs {
		recs[i] = protocol.Record{Timestamp: exampleTime + int64(i), Fields: map[string]string{
			"data_type": "flood", "seq": strconv.Itoa(1_000_000 + i), "task": "0123abcd-42",
		}}
	}
	return &protocol.Data{Records: recs}
}

func decodeVsGeneric(b *testing.B, data *protocol.Data) {
	payload, err := protocol.Append(nil, data)
	if err != nil {
		b.Fatal(err)
	}
	ours := func() {
		if _, err := protocol.Decode(payload); err != nil {
			b.Fatal(err)
		}
	}
	r := bytes.NewReader(payload)
	dec := msgpack.NewDecoder(r)
	generic := func() {
		r.Reset(payload)
		dec.Reset(r)
		var g genericData
		if err := dec.Decode(&g); err != nil {
			b.Fatal(err)
		}
	}
	var kept []map[string]string
	maps := func() {
		kept = kept[:0]
		for _, r := range data.Records {
			m := make(map[string]string, len(r.Fields))
			for k, v := range r.Fields {
				m[k] = v
			}
			kept = append(kept, m)
		}
	}
	n := float64(len(data.Records))
	oursAllocs, genericAllocs := testing.AllocsPerRun(50, ours), testing.AllocsPerRun(50, generic)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var tOurs, tGeneric, tMaps time.Duration
	for b.Loop() {
		t0 := threadCPU(b)
		ours()
		t1 := threadCPU(b)
		generic()
		t2 := threadCPU(b)
		maps()
		tOurs, tGeneric, tMaps = tOurs+t1-t0, tGeneric+t2-t1, tMaps+threadCPU(b)-t2
	}
	records := n * float64(b.N)
	b.ReportMetric(float64(tOurs.Nanoseconds())/records, "ns/record")
	b.ReportMetric(float64(tGeneric.Nanoseconds())/records, "generic-ns/record")
	b.ReportMetric(oursAllocs/n, "allocs/record")
	b.ReportMetric(genericAllocs/n, "generic-allocs/record")
	b.ReportMetric(float64(tMaps.Nanoseconds())/records, "maps-ns/record")
	b.ReportMetric(float64(tOurs)/float64(tGeneric), "x_generic")
	b.ReportMetric(float64(tOurs)/float64(tMaps), "x_maps")
}

// threadCPU is the calling thread's CPU time; the caller locks its thread.
func threadCPU(b *testing.B) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ts.Nano())
}
