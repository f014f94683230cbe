package tui

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/internal/percentile"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
	"github.com/plugvisor/plugvisor/tui/components/detail"
	"github.com/plugvisor/plugvisor/tui/state"
)

// Benchmarks of the console under load. Run them with
//
//	go test -run '^$' -bench . -benchtime 1x ./tui/
//
// BenchmarkFrame measures one frame with 200 plugins and full buffers, and
// the naive anchor from NOTES (the viewport's content set on every message).
// BenchmarkLoad runs the real Bubble Tea program (output discarded) while
// records pour in, presses keys and measures key → next frame
// and the console's own CPU (process CPU minus a run of the same load with
// no console). A key is pressed every 50 ms: 40 samples per 2 s window. BenchmarkIdle measures the console doing nothing.

const (
	benchW, benchH = 120, 40
	keyEvery       = 50 * time.Millisecond
	loadWindow     = 2 * time.Second
)

// bigRig is a real supervisor with 200 instances (4 plugins × 50), none
// started: the table and the snapshots are real, the load is injected.
func bigRig(b *testing.B) *rig {
	return startRigWith(b, func(tb testing.TB) string {
		var s strings.Builder
		for i := range 4 {
			exe := supervisortest.Bin("echo")
			fmt.Fprintf(&s, "[plugins.p%d]\nexec = %q\nsha256 = %q\nauto_start = false\ninstances = 50\n\n", i, exe, supervisortest.SHA256(tb, exe))
		}
		return s.String()
	})
}

// records are prebuilt, read-only batches the synthetic load shares.
func records(n int) []protocol.Record {
	out := make([]protocol.Record, n)
	for i := range out {
		out[i] = protocol.Record{Timestamp: time.Now().UnixNano(), Fields: map[string]string{
			"data_type": "flood", "seq": strconv.Itoa(i), "payload": strings.Repeat("x", 40)}}
	}
	return out
}

// fill gives every instance full buffers: 5,000 log lines and 1,000
// records, and the first plugin 1,000 round trips.
func fill(m *Model) {
	recs := records(MaxRecordsPerEvent)
	var batch []supervisor.Event
	for _, id := range m.store.Order() {
		name := m.store.Plugin(id).Status.Name
		for i := range state.MaxLogLines {
			stream := supervisor.Stdout
			if i%7 == 0 {
				stream = supervisor.Stderr
			}
			batch = append(batch, supervisor.Event{Type: supervisor.EventLog, Plugin: name, Instance: id,
				Log: supervisor.LogLine{Time: time.Now(), Stream: stream, Text: fmt.Sprintf("line %d of %s: %s", i, id, strings.Repeat("lorem ipsum ", 7))}})
		}
		for range state.MaxRecords / len(recs) {
			batch = append(batch, supervisor.Event{Type: supervisor.EventRecords, Plugin: name, Instance: id, Time: time.Now(), Records: recs})
		}
	}
	m.store.Apply(batch)
	first := m.store.Plugin(m.store.Order()[0]).Status.Name
	for i := range state.MaxRoundTrips {
		m.store.AddPending(first, strconv.Itoa(i), uint32(i), "content "+strconv.Itoa(i), time.Now())
		m.store.Resolve(first, supervisor.Reply{ID: uint32(i), Token: strconv.Itoa(i), Outcome: supervisor.OutcomeAnswered, Status: protocol.StatusOK, RTT: time.Millisecond,
			Records: []protocol.Record{{Fields: map[string]string{"data_type": "echo", "content": "reply", "task_status": "ok"}}}}, nil)
	}
}

// MaxRecordsPerEvent is the batch size of the synthetic record events: a
// frame's worth, as the engine publishes one event per frame.
const MaxRecordsPerEvent = 20

func benchModel(b *testing.B, sup *supervisor.Supervisor, w, h int) *Model {
	m := newModel(sup, Options{Theme: "dark"})
	m.c.Width, m.c.Height = w, h
	m.applySnapshot(snapshotMsg{statuses: supervisortest.SnapshotOf(b, sup), info: supervisortest.InfoOf(b, sup)})
	fill(m)
	b.Cleanup(m.close)
	return m
}

// BenchmarkFrame is the time to draw one frame at 120x40 with 200 plugins
// and full buffers, when every pane changed (a log line, a record, a round
// trip or a heartbeat arrived for what is on screen) and when nothing did.
func BenchmarkFrame(b *testing.B) {
	r := bigRig(b)
	m := benchModel(b, r.sup, benchW, benchH)
	sel := m.store.Order()[0]
	name := m.store.Plugin(sel).Status.Name
	recs := records(1)
	for _, tab := range []detail.Tab{detail.TabLogs, detail.TabData, detail.TabTasks, detail.TabInfo} {
		b.Run("changed-"+strings.ToLower(tab.String()), func(b *testing.B) {
			m.detail.SetTab(tab)
			for i := 0; b.Loop(); i++ {
				m.store.Apply([]supervisor.Event{
					{Type: supervisor.EventHeartbeat, Plugin: name, Instance: sel, Time: time.Now(), RTT: time.Millisecond},
					{Type: supervisor.EventLog, Plugin: name, Instance: sel, Log: supervisor.LogLine{Time: time.Now(), Text: "new line " + strconv.Itoa(i)}},
					{Type: supervisor.EventRecords, Plugin: name, Instance: sel, Time: time.Now(), Records: recs},
					{Type: supervisor.EventTask, Plugin: name, Instance: sel, Task: &supervisor.TaskEvent{ID: 1, Token: "t" + strconv.Itoa(i), Outcome: supervisor.OutcomeAnswered, Reply: supervisor.Reply{Outcome: supervisor.OutcomeAnswered, Status: protocol.StatusOK}}},
				})
				_ = m.View()
			}
		})
	}
	b.Run("unchanged", func(b *testing.B) {
		m.detail.SetTab(detail.TabLogs)
		_ = m.View()
		for b.Loop() {
			_ = m.View()
		}
	})
	b.Run("anchor-naive-setcontent", func(b *testing.B) {
		// NOTES' naive console: every message appends a line and sets the
		// whole viewport content, then the view is drawn.
		vp := viewport.New(viewport.WithWidth(benchW), viewport.WithHeight(benchH))
		lines := make([]string, 0, state.MaxLogLines)
		for i := range state.MaxLogLines {
			lines = append(lines, fmt.Sprintf("%-100d", i))
		}
		for i := 0; b.Loop(); i++ {
			lines = append(lines[1:], fmt.Sprintf("%-100d", i))
			vp.SetContentLines(slices.Clone(lines))
			vp.GotoBottom()
			_ = vp.View()
		}
	})
}

// load is one run of the program under a stream of record events.
type load struct {
	rate      int // records per second offered
	perEvent  int // records per event
	latencies []time.Duration
	absorbed  uint64 // records folded into the store during the window
	offered   uint64
	dropped   uint64 // lost on the way: the full channel, or the console's queue
	cpu       time.Duration
	window    time.Duration
}

// program runs m in a real Bubble Tea program drawing to nowhere, and
// measures key → frame: the time from sending a key to the end of the View
// that follows the Update handling it. (The renderer then paints within a
// frame, 1/60 s.)
type program struct {
	p        *tea.Program
	m        *Model
	t0       atomic.Int64
	mu       sync.Mutex
	lat      []time.Duration
	pending  bool // owned by the event loop
	finished chan struct{}
}

type countMsg struct{ reply chan uint64 }

// rowsMsg asks the event loop how many instances the console knows.
type rowsMsg struct{ reply chan int }

func startProgram(m *Model) *program {
	pr := &program{m: m, finished: make(chan struct{})}
	m.opts.onFrame = func(string) {
		if pr.pending {
			pr.pending = false
			d := time.Duration(time.Now().UnixNano() - pr.t0.Load())
			pr.mu.Lock()
			pr.lat = append(pr.lat, d)
			pr.mu.Unlock()
		}
	}
	filter := func(_ tea.Model, msg tea.Msg) tea.Msg {
		switch msg := msg.(type) {
		case tea.KeyPressMsg:
			pr.pending = true
		case rowsMsg:
			msg.reply <- m.store.Len()
			return nil
		case countMsg:
			var n uint64
			for _, id := range m.store.Order() {
				n += m.store.Plugin(id).Records.Total()
			}
			msg.reply <- n
			return nil
		}
		return msg
	}
	pr.p = tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithWindowSize(benchW, benchH),
		tea.WithoutSignals(), tea.WithFilter(filter))
	go func() {
		_, _ = pr.p.Run()
		close(pr.finished)
	}()
	return pr
}

func (pr *program) records() uint64 {
	reply := make(chan uint64, 1)
	pr.p.Send(countMsg{reply})
	return <-reply
}

// waitRows waits for the console's first snapshot: keys such as d
// (describe) act on the selected row, and a pane opened before it would
// measure nothing.
func (pr *program) waitRows(tb testing.TB) {
	tb.Helper()
	if !testutil.Until(30*time.Second, func() bool {
		reply := make(chan int, 1)
		pr.p.Send(rowsMsg{reply})
		return <-reply > 0
	}) {
		tb.Fatal("the console never had its first snapshot")
	}
}

func (pr *program) press(k string) {
	pr.t0.Store(time.Now().UnixNano())
	pr.p.Send(keyPress(k))
}

func (pr *program) stop() {
	pr.p.Quit()
	<-pr.finished
	pr.m.close()
}

// producer offers rate records/s in events of perEvent records, spread over
// the instances, on a channel that drops when full as the engine's bus does.
func producer(ids []supervisor.PluginStatus, rate, perEvent int, ch chan supervisor.Event, stop <-chan struct{}, offered, dropped *atomic.Uint64) {
	recs := records(perEvent)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	var sent, i int
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		owed := int(time.Since(start).Seconds()*float64(rate)) - sent
		for ; owed >= perEvent; owed -= perEvent {
			st := ids[i%len(ids)]
			i++
			sent += perEvent
			offered.Add(uint64(perEvent))
			select {
			case ch <- supervisor.Event{Type: supervisor.EventRecords, Plugin: st.Name, Instance: st.Instance, Time: time.Now(), Records: recs}:
			default:
				dropped.Add(uint64(perEvent))
			}
		}
	}
}

// runSynthetic measures the console under a synthetic stream, and the same
// stream drained by nothing but a counting loop, for the CPU baseline.
func runSynthetic(b *testing.B, sup *supervisor.Supervisor, rate, perEvent int, console bool) load {
	return runSyntheticOn(b, sup, rate, perEvent, console, "2") // the Data tab: it changes with every fold
}

// runSyntheticOn is runSynthetic on any API, the console first shown the
// pane the keys open.
func runSyntheticOn(b *testing.B, api supervisor.API, rate, perEvent int, console bool, open ...string) load {
	ids, err := api.Snapshot(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	ch := make(chan supervisor.Event, defaultEventBuffer)
	stop := make(chan struct{})
	var offered, dropped atomic.Uint64
	l := load{rate: rate, perEvent: perEvent, window: loadWindow}
	var pr *program
	if console {
		m := newModel(api, Options{Theme: "dark"})
		pr = startProgram(m)
		pr.waitRows(b)
		for _, k := range open {
			pr.press(k)
		}
		go m.feed.drain(ch)
	} else {
		go func() {
			for range ch {
			}
		}()
	}
	var before uint64
	if pr != nil {
		before = pr.records()
	}
	c0 := cpu()
	produced := make(chan struct{})
	go func() {
		producer(ids, rate, perEvent, ch, stop, &offered, &dropped)
		close(produced)
	}()
	keys := time.NewTicker(keyEvery)
	deadline := time.After(loadWindow)
	up := false
loop:
	for {
		select {
		case <-keys.C:
			if pr != nil {
				pr.press(map[bool]string{true: "k", false: "j"}[up])
				up = !up
			}
		case <-deadline:
			break loop
		}
	}
	keys.Stop()
	close(stop)
	<-produced
	l.cpu = cpu() - c0
	l.offered, l.dropped = offered.Load(), dropped.Load()
	if pr != nil {
		l.absorbed = pr.records() - before
		pr.stop()
		l.dropped += pr.m.store.Dropped
		l.latencies = pr.lat
	}
	close(ch)
	return l
}

func report(b *testing.B, l load, baseline time.Duration) {
	win := l.window.Seconds()
	b.ReportMetric(float64(l.absorbed)/win, "rec/s-absorbed")
	if l.offered > 0 {
		b.ReportMetric(float64(l.offered)/win, "rec/s-offered")
	}
	b.ReportMetric(float64(l.dropped), "rec-dropped")
	b.ReportMetric(float64(percentile.Of(l.latencies, 50))/1e6, "key-frame-p50-ms")
	b.ReportMetric(float64(percentile.Of(l.latencies, 99))/1e6, "key-frame-p99-ms")
	b.ReportMetric(float64(slices.Max(append(l.latencies, 0)))/1e6, "key-frame-max-ms")
	b.ReportMetric(100*(l.cpu-baseline).Seconds()/win, "console-cpu-%")
	b.ReportMetric(100*l.cpu.Seconds()/win, "process-cpu-%")
}

// BenchmarkLoad offers a rising stream of records to the running program.
// The console keeps up while records/s absorbed equals the offer, nothing is
// dropped, and key → frame p99 stays under 50 ms.
func BenchmarkLoad(b *testing.B) {
	r := bigRig(b)
	for _, c := range []struct{ rate, per int }{
		{100_000, MaxRecordsPerEvent}, {100_000, 1}, {400_000, MaxRecordsPerEvent}, {1_600_000, MaxRecordsPerEvent},
	} {
		b.Run(fmt.Sprintf("synthetic-%dk-rec/s-%d-per-event", c.rate/1000, c.per), func(b *testing.B) {
			base := runSynthetic(b, r.sup, c.rate, c.per, false)
			l := runSynthetic(b, r.sup, c.rate, c.per, true)
			report(b, l, base.cpu)
		})
	}
}

// BenchmarkLoadPanes is BenchmarkLoad's 100,000 records/s with each of
// the panes added since the first console on screen while keys are
// pressed: Events, the supervisor's log, describe, the Logs tab searching,
// and the table over many hosts (the same engine served on NATS and
// seen through a fleet, so a HOST column is drawn). Each is reported with the
// Data tab's run as its anchor, in the same run.
func BenchmarkLoadPanes(b *testing.B) {
	r := bigRig(b)
	hosts := startFleetRig(b, fleet.FleetOptions{}, hostSpec{"edge-1", map[string]string{"env": "prod"}, r.sup})
	type pane struct {
		name string
		api  supervisor.API
		keys []string
	}
	for _, p := range []pane{
		{"data-anchor", r.sup, []string{"2"}},
		{"events", r.sup, []string{"5"}},
		{"events-all", r.sup, []string{"5", "a"}},
		{"supervisor-log", r.sup, []string{"6"}},
		{"describe", r.sup, []string{"d"}},
		{"logs-search", r.sup, []string{"tab", "1", "/", "l", "i", "n", "e", "enter", "shift+tab"}},
		{"hosts-data", hosts.fleet, []string{"2"}},
	} {
		b.Run(p.name, func(b *testing.B) {
			base := runSyntheticOn(b, p.api, 100_000, MaxRecordsPerEvent, false)
			l := runSyntheticOn(b, p.api, 100_000, MaxRecordsPerEvent, true, p.keys...)
			report(b, l, base.cpu)
		})
	}
}

// BenchmarkLoadEngine attaches the console to a real engine whose chaos
// plugin floods 100,000 records/s, and compares with the same engine and
// flood drained by a subscriber that only counts.
func BenchmarkLoadEngine(b *testing.B) {
	r := startRigWith(b, func(tb testing.TB) string {
		return pluginTOML(tb, "chaos", true, `args = ["--flood-rate", "100000"]`) + pluginTOML(tb, "echo", true, "")
	})
	r.waitState("chaos", supervisor.StateRunning)
	time.Sleep(500 * time.Millisecond)

	// Baseline: the engine and the flood, with a subscriber that counts.
	events, cancel, _ := r.sup.Subscribe(context.Background(), defaultEventBuffer)
	var counted atomic.Uint64
	go func() {
		for e := range events {
			counted.Add(uint64(len(e.Records)))
		}
	}()
	c0 := cpu()
	time.Sleep(loadWindow)
	base := cpu() - c0
	cancel()
	b.ReportMetric(float64(counted.Load())/loadWindow.Seconds(), "rec/s-engine-delivers")

	m := newModel(r.sup, Options{Theme: "dark"})
	pr := startProgram(m)
	time.Sleep(300 * time.Millisecond)
	pr.press("2")
	before := pr.records()
	c0 = cpu()
	l := load{window: loadWindow}
	keys := time.NewTicker(keyEvery)
	deadline := time.After(loadWindow)
	up := false
loop:
	for {
		select {
		case <-keys.C:
			pr.press(map[bool]string{true: "k", false: "j"}[up])
			up = !up
		case <-deadline:
			break loop
		}
	}
	keys.Stop()
	l.cpu = cpu() - c0
	l.absorbed = pr.records() - before
	pr.stop()
	l.dropped, l.latencies = m.store.Dropped, pr.lat
	report(b, l, base)
}
