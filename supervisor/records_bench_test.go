package supervisor_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/headless"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// recordsWindow is how long each face drains the flood per iteration.
const recordsWindow = 2 * time.Second

// BenchmarkRecordsCPU is what the engine costs per record: the chaos plugin
// floods 100,000 records/s in a process of its own, and this process (the
// supervisor: its read loop, decoder, bus and the face) is charged its CPU
// time per 100k records/s delivered, two ways interleaved: an API
// subscriber that only counts, and the headless daemon writing JSON lines
// to /dev/null. The anchor, in the same run, is protocol.Decode alone of
// frames of the same records, on the same scale: x_decode says what the
// engine costs over decoding.
func BenchmarkRecordsCPU(b *testing.B) {
	h := startHarness(b, plugin(b, "chaos", supervisortest.Bin("chaos"), `args = ["--flood-rate", "100000"]`))
	h.WaitState("chaos", supervisor.StateRunning)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	var api, daemon, decode cost
	for b.Loop() {
		api.add(drainAPI(b, h.Sup))
		daemon.add(drainHeadless(b, h.Sup, null))
		decode.add(decodeOnly(b))
	}
	b.ReportMetric(api.perHundredK(), "api_cpu_%/100k")
	b.ReportMetric(daemon.perHundredK(), "headless_cpu_%/100k")
	b.ReportMetric(decode.perHundredK(), "decode_cpu_%/100k")
	b.ReportMetric(daemon.perHundredK()/api.perHundredK(), "headless_x_api")
	b.ReportMetric(api.perHundredK()/decode.perHundredK(), "api_x_decode")
	b.ReportMetric(api.records/api.wall.Seconds(), "api_records/s")
	b.ReportMetric(daemon.records/daemon.wall.Seconds(), "headless_records/s")
}

// cost is CPU time spent on records.
type cost struct {
	cpu, wall time.Duration
	records   float64
}

func (c *cost) add(d cost) {
	c.cpu += d.cpu
	c.wall += d.wall
	c.records += d.records
}

// perHundredK is the percentage of one core spent per 100,000 records a
// second: CPU seconds per record, times 1e5 records, in percent.
func (c cost) perHundredK() float64 {
	return c.cpu.Seconds() / c.records * 1e5 * 100
}

// measure runs fn and charges its window's CPU time, the whole process's.
func measure(fn func() float64) cost {
	c0, t0 := selfCPU(), time.Now()
	n := fn()
	return cost{cpu: selfCPU() - c0, wall: time.Since(t0), records: n}
}

func drainAPI(b *testing.B, sup *supervisor.Supervisor) cost {
	events, cancel, err := sup.Subscribe(context.Background(), 4096)
	if err != nil {
		b.Fatal(err)
	}
	defer cancel()
	return measure(func() float64 {
		var n int
		end := time.After(recordsWindow)
		for {
			select {
			case ev := <-events:
				n += len(ev.Records)
			case <-end:
				return float64(n)
			}
		}
	})
}

// drainHeadless runs the daemon for a window and counts the lines it wrote.
func drainHeadless(b *testing.B, sup *supervisor.Supervisor, null *os.File) cost {
	out := &countingWriter{w: null}
	d, err := headless.Attach(sup, headless.Options{Log: slog.New(slog.DiscardHandler), Data: out})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	ran := make(chan error)
	return measure(func() float64 {
		go func() { ran <- d.Run(func() {}, done) }()
		time.Sleep(recordsWindow)
		close(done)
		if err := <-ran; err != nil {
			b.Fatal(err)
		}
		return float64(out.lines)
	})
}

var newline = []byte{'\n'}

// countingWriter counts the JSON lines written through it.
type countingWriter struct {
	w     io.Writer
	lines int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.lines += bytes.Count(p, newline)
	return c.w.Write(p)
}

// decodeOnly decodes frames of chaos's flood records, in batches of the
// size the engine sees at 100k/s, for about a tenth of a window, charged
// the CPU time of its own thread only: the engine goes on reading the
// flood meanwhile.
func decodeOnly(b *testing.B) cost {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	recs := make([]protocol.Record, 80)
	for i := range recs {
		recs[i] = protocol.Record{Timestamp: time.Now().UnixNano(), Fields: map[string]string{
			"data_type": "flood", "seq": "1234567", "task": "0123abcd-42",
		}}
	}
	payload, err := protocol.Append(nil, &protocol.Data{Records: recs})
	if err != nil {
		b.Fatal(err)
	}
	c0, t0 := threadCPU(), time.Now()
	n := func() float64 {
		var n int
		for end := time.Now().Add(recordsWindow / 10); time.Now().Before(end); {
			m, err := protocol.Decode(payload)
			if err != nil {
				b.Fatal(err)
			}
			n += len(m.(*protocol.Data).Records)
		}
		return float64(n)
	}()
	return cost{cpu: threadCPU() - c0, wall: time.Since(t0), records: n}
}

// threadCPU is the calling thread's CPU time.
func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD, which package syscall does not name
	var ru syscall.Rusage
	_ = syscall.Getrusage(rusageThread, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
