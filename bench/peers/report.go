package main

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/plugvisor/plugvisor/internal/percentile"
)

// cell is one figure of a table: the number and how it is written.
type cell struct {
	Value float64 `json:"value"`
	Text  string  `json:"text"`
}

type row struct {
	Label string `json:"label"`
	Cells []cell `json:"cells"`
}

type table struct {
	Title  string   `json:"title"`
	Header []string `json:"header"` // the label column first
	Rows   []row    `json:"rows"`
}

// target is one of the goals, checked against this run's figures.
type target struct {
	Goal string  `json:"goal"`
	Got  float64 `json:"got"`
	Text string  `json:"text"`
	Pass bool    `json:"pass"`
}

type report struct {
	Sizes   sizes    `json:"sizes"`
	Notes   []string `json:"notes"`
	Tables  []table  `json:"tables"`
	Targets []target `json:"targets"`
}

func us(d time.Duration) cell {
	return cell{float64(d) / 1e3, fmt.Sprintf("%.1f µs", float64(d)/1e3)}
}
func ms(d time.Duration) cell { return cell{float64(d) / 1e6, fmt.Sprintf("%.2f ms", float64(d)/1e6)} }
func ratio(x float64) cell    { return cell{x, fmt.Sprintf("%.2fx", x)} }
func rate(x float64) cell     { return cell{x, fmt.Sprintf("%.0f/s", x)} }
func pct(x float64) cell      { return cell{x, fmt.Sprintf("%.2f%%", x)} }
func count(n int) cell        { return cell{float64(n), fmt.Sprint(n)} }
func samples(rs []result) []time.Duration {
	var ds []time.Duration
	for _, r := range rs {
		ds = append(ds, r.Samples...)
	}
	return ds
}

// medianOf is the median of f over results.
func medianOf(rs []result, f func(result) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	slices.Sort(xs)
	switch n := len(xs); {
	case n == 0:
		return math.NaN()
	case n%2 == 0:
		return (xs[n/2-1] + xs[n/2]) / 2
	default:
		return xs[n/2]
	}
}

func tasksPerSec(r result) float64 { return float64(r.Count) / r.Elapsed.Seconds() }

// cpuPer100k is the host's CPU, in percent of a core, per 100k records a
// second: CPU seconds per record × 1e5 records/s × 100 %.
func cpuPer100k(rs []result) float64 {
	var cpu time.Duration
	n := 0
	for _, r := range rs {
		cpu, n = cpu+r.CPU, n+r.Count
	}
	return cpu.Seconds() / float64(n) * 1e7
}

func recordsPerSec(rs []result) float64 {
	var el time.Duration
	n := 0
	for _, r := range rs {
		el, n = el+r.Elapsed, n+r.Count
	}
	return float64(n) / el.Seconds()
}

func deliveredPct(rs []result, per int) float64 {
	n := 0
	for _, r := range rs {
		n += r.Count
	}
	return float64(n) / float64(per*len(rs)) * 100
}

// build turns measurements into the tables and the targets.
func buildReport(m *measurements) *report {
	rep := &report{Sizes: m.Sizes, Notes: m.Notes}
	f := figures{m: m}
	rep.Tables = []table{f.rttTable(), f.rttSplitTable(), f.inflightTable(), f.spawnTable(), f.recordsTable(), f.idleTable()}
	rep.Targets = f.targets()
	return rep
}

type figures struct{ m *measurements }

func (f figures) p(metric, key string, q float64) time.Duration {
	return percentile.Of(samples(f.m.Runs[metric][key]), q)
}

func (f figures) latencyTable(title, metric string, es []entry) table {
	t := table{Title: title, Header: []string{"contender", "p50", "p99", "p50 × raw", "p99 × raw"}}
	r50, r99 := f.p(metric, "raw", 50), f.p(metric, "raw", 99)
	for _, e := range es {
		p50, p99 := f.p(metric, e.Key, 50), f.p(metric, e.Key, 99)
		t.Rows = append(t.Rows, row{e.Label, []cell{us(p50), us(p99), ratio(float64(p50) / float64(r50)), ratio(float64(p99) / float64(r99))}})
	}
	return t
}

func (f figures) rttTable() table {
	return f.latencyTable("Task round trip, sequential, 64-byte task", "rtt", metricEntries("rtt"))
}

// rttSplitTable splits plugvisor's sequential round trips: the engine's
// own send → reply time (Reply.RTT) and, task by task, what the caller
// waited beyond it.
func (f figures) rttSplitTable() table {
	t := table{Title: "Where a plugvisor round trip goes (p50 of each part)",
		Header: []string{"contender", "round trip", "the engine's, send → reply", "the rest: the path to the engine and back"}}
	for _, e := range metricEntries("rtt") {
		var engine, rest []time.Duration
		for _, r := range f.m.Runs["rtt"][e.Key] {
			for i, d := range r.Engine {
				engine, rest = append(engine, d), append(rest, r.Samples[i]-d)
			}
		}
		if len(engine) == 0 {
			continue // not plugvisor
		}
		t.Rows = append(t.Rows, row{e.Label, []cell{us(f.p("rtt", e.Key, 50)), us(percentile.Of(engine, 50)), us(percentile.Of(rest, 50))}})
	}
	return t
}

func (f figures) spawnTable() table {
	t := f.latencyTable("Spawn → ready (start to the first successful call)", "spawn", metricEntries("spawn"))
	for i := range t.Rows {
		for j := range 2 {
			t.Rows[i].Cells[j] = ms(time.Duration(t.Rows[i].Cells[j].Value * 1e3))
		}
	}
	return t
}

func (f figures) inflight(key string) float64 {
	return medianOf(f.m.Runs["inflight"][key], tasksPerSec)
}

func (f figures) inflightTable() table {
	t := table{Title: fmt.Sprintf("Throughput, %d in flight (median of rounds)", inFlight),
		Header: []string{"contender", "tasks/s", "× raw pipelined", "× go-plugin net/rpc"}}
	raw, gp := f.inflight("raw"), f.inflight("gp-netrpc")
	for _, e := range metricEntries("inflight") {
		x := f.inflight(e.Key)
		t.Rows = append(t.Rows, row{e.Label, []cell{rate(x), ratio(x / raw), ratio(x / gp)}})
	}
	return t
}

func (f figures) records(key string) (rps, cpu float64) {
	rs := f.m.Runs["records"][key]
	return recordsPerSec(rs), cpuPer100k(rs)
}

func (f figures) recordsTable() table {
	t := table{Title: "Records streamed from a plugin to a subscriber",
		Header: []string{"contender", "records/s", "× raw", "host CPU per 100k rec/s (% of a core)", "× raw", "delivered"}}
	rawRate, rawCPU := f.records("raw")
	for _, e := range metricEntries("records") {
		r, c := f.records(e.Key)
		t.Rows = append(t.Rows, row{e.Label, []cell{rate(r), ratio(r / rawRate), pct(c), ratio(c / rawCPU),
			pct(deliveredPct(f.m.Runs["records"][e.Key], f.m.Sizes.Records))}})
	}
	return t
}

// idleFig are one contender's idle figures at one plugin count, medians
// over the rounds.
type idleFig struct {
	total, host, perPlugin float64 // % of a core
	threads                int
	stop, exit             time.Duration
}

func (f figures) idle(kind string, n int) idleFig {
	rs := f.m.Idle[kind][n]
	total := medianOf(rs, func(r result) float64 { return (r.CPU + r.PluginCPU).Seconds() / r.Elapsed.Seconds() * 100 })
	return idleFig{
		total:     total,
		host:      medianOf(rs, func(r result) float64 { return r.CPU.Seconds() / r.Elapsed.Seconds() * 100 }),
		perPlugin: total / float64(n),
		threads:   int(medianOf(rs, func(r result) float64 { return float64(r.Threads) })),
		stop:      time.Duration(medianOf(rs, func(r result) float64 { return float64(r.StopAll) })),
		exit:      time.Duration(medianOf(rs, func(r result) float64 { return float64(r.Exit) })),
	}
}

func (f figures) idleTable() table {
	t := table{Title: "Idle plugins (echo, doing nothing; plugvisor heartbeats at its default 1 s)",
		Header: []string{"plugins · contender", "idle CPU, supervisor + plugins", "supervisor alone", "per plugin",
			"× go-plugin", "supervisor threads", "stop all", "stop per plugin"}}
	for _, n := range f.m.Sizes.Idle {
		gp := f.idle("idle-goplugin", n)
		for _, k := range idleKinds {
			x := f.idle(k.Worker, n)
			stop := ms(x.stop)
			if x.exit > 0 {
				stop.Text += fmt.Sprintf(" (then exit %.2f ms)", float64(x.exit)/1e6)
			}
			t.Rows = append(t.Rows, row{fmt.Sprintf("%d · %s", n, k.Label), []cell{pct(x.total), pct(x.host), pct(x.perPlugin),
				ratio(x.total / gp.total), count(x.threads), stop, ms(x.stop / time.Duration(n))}})
		}
	}
	return t
}

func metricEntries(key string) []entry {
	for _, m := range metrics() {
		if m.Key == key {
			return m.Entries
		}
	}
	return nil
}

func atMost(goal string, got, limit float64, text string) target {
	return target{goal, got, text, got <= limit}
}

func atLeast(goal string, got, limit float64, text string) target {
	return target{goal, got, text, got >= limit}
}

func (f figures) targets() []target {
	emb, raw, dae := f.p("rtt", "embedded", 50), f.p("rtt", "raw", 50), f.p("rtt", "daemon", 50)
	x := func(v float64) string { return fmt.Sprintf("%.2fx", v) }
	_, embCPU := f.records("embedded")
	_, jsonCPU := f.records("daemon-json")
	sz := f.m.Sizes.Idle
	lo, mid, hi := sz[0], sz[len(sz)/2], sz[len(sz)-1]
	pvHi, gpHi, pvLo, pvMid := f.idle("idle-plugvisor", hi), f.idle("idle-goplugin", hi), f.idle("idle-plugvisor", lo), f.idle("idle-plugvisor", mid)
	perHi := float64(pvHi.stop) / float64(hi) / 1e6
	perMid := float64(pvMid.stop) / float64(mid) / 1e6
	ts := []target{
		atMost("round trip p50: embedded ≤ 3x raw", float64(emb)/float64(raw), 3, x(float64(emb)/float64(raw))),
		atMost("round trip p50: headless control socket ≤ 1.5x embedded", float64(dae)/float64(emb), 1.5, x(float64(dae)/float64(emb))),
		atLeast("64 in flight: embedded ≥ 0.6x raw pipelined", f.inflight("embedded")/f.inflight("raw"), 0.6, x(f.inflight("embedded")/f.inflight("raw"))),
		atLeast("64 in flight: embedded ≥ 2x go-plugin net/rpc", f.inflight("embedded")/f.inflight("gp-netrpc"), 2, x(f.inflight("embedded")/f.inflight("gp-netrpc"))),
		atMost("supervisor CPU ≤ 4% of a core per 100k records/s to an API subscriber", embCPU, 4, fmt.Sprintf("%.2f%%", embCPU)),
		atMost("headless JSON lines CPU per 100k records/s ≤ 1.5x the API subscriber's", jsonCPU/embCPU, 1.5, x(jsonCPU/embCPU)),
		atMost(fmt.Sprintf("idle CPU at %d plugins ≤ go-plugin's", hi), pvHi.total/gpHi.total, 1, fmt.Sprintf("%.2f%% vs %.2f%% (%s)", pvHi.total, gpHi.total, x(pvHi.total/gpHi.total))),
		atMost(fmt.Sprintf("supervisor threads independent of plugins: %d → %d adds ≤ 2 + 1 per 50", lo, hi), float64(pvHi.threads-pvLo.threads), 2+float64(hi-lo)/50, fmt.Sprintf("%d → %d", pvLo.threads, pvHi.threads)),
		atMost(fmt.Sprintf("stop all at %d plugins ≤ 1.5 ms per plugin", hi), perHi, 1.5, fmt.Sprintf("%.3f ms", perHi)),
		atMost(fmt.Sprintf("stop all linear: per plugin at %d ≤ 1.5x per plugin at %d", hi, mid), perHi/perMid, 1.5, fmt.Sprintf("%.3f vs %.3f ms (%s)", perHi, perMid, x(perHi/perMid))),
	}
	return ts
}
