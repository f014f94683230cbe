package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/internal/natstest"
	"github.com/plugvisor/plugvisor/internal/percentile"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
	st "github.com/plugvisor/plugvisor/supervisor/supervisortest"
	"github.com/plugvisor/plugvisor/tui"
)

// BenchmarkFleetConsoleIdle runs the fleet console (`plugvisor fleet
// --nats URL`, a real process in a pty) over 50 hosts of 4 idle plugins
// each, and beside it, in the same windows, as its anchor, the console
// attached to one of those hosts over NATS (`plugvisor attach --nats URL
// --host h00`), and reports each one's CPU as a percent of a core and
// their ratio; and a second fleet console painting at the local console's
// rate (`--fps` tui.FPS), what the fleet console's own rate costs idle. The hosts are one in-process engine with four echo
// instances served over NATS as 50 hosts, each its own micro service on a
// connection of its own: what the console pays for is their answers and
// its rows, which is the same whatever engine stands behind each host.
// Each op is a one-second window.
//
//	go test -run '^$' -bench FleetConsoleIdle -benchtime 10x .
func BenchmarkFleetConsoleIdle(b *testing.B) {
	const hosts = 50
	srv := natstest.Start(b, natstest.Options{})
	self := testutil.Bin("plugvisor")
	eng := st.Start(b, st.Plugin(b, "echo", self, "args = [\"plugin\", \"echo\"]\ninstances = 4"), st.Options{})
	for i := range hosts {
		nc := connect(b, srv.URL())
		stop, err := fleet.Serve(fleet.ServiceOptions{Conn: nc, API: eng.Sup, Subjects: fleet.Subjects{Prefix: "plugvisor", Host: fmt.Sprintf("h%02d", i)}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = stop() })
	}
	for i := range 4 {
		eng.WaitState("echo."+strconv.Itoa(i), supervisor.StateRunning)
	}
	tmp, home := shortTemp(b, "pvc")
	console := func(args ...string) *vterm {
		cmd := exec.Command(self, args...)
		cmd.Env = demoEnv(home, tmp)
		return startInPty(b, cmd, 160, 50)
	}
	fleetTerm := console("fleet", "--nats", srv.URL())
	slowTerm := console("fleet", "--nats", srv.URL(), "--fps", strconv.Itoa(tui.FPS))
	oneTerm := console("attach", "--nats", srv.URL(), "--host", "h00")
	for _, t := range []*vterm{fleetTerm, slowTerm} {
		t.waitScreen(b, "every host's rows", func(s string) bool { return strings.Contains(s, fmt.Sprintf("Plugins %d", hosts*4)) })
	}
	oneTerm.waitFor(b, "echo.3")
	terms := []*vterm{fleetTerm, slowTerm, oneTerm}
	used := make([]time.Duration, len(terms))
	b.ResetTimer()
	var wall time.Duration
	for range b.N {
		c0, t0 := make([]time.Duration, len(terms)), time.Now()
		for i, t := range terms {
			c0[i] = procCPU(b, t.cmd.Process.Pid)
		}
		time.Sleep(time.Second) // the measurement window, not a wait for anything
		for i, t := range terms {
			used[i] += procCPU(b, t.cmd.Process.Pid) - c0[i]
		}
		wall += time.Since(t0)
	}
	b.StopTimer()
	b.ReportMetric(100*used[0].Seconds()/wall.Seconds(), "fleet-cpu-%")
	b.ReportMetric(100*used[1].Seconds()/wall.Seconds(), fmt.Sprintf("fleet-%dfps-cpu-%%", tui.FPS))
	b.ReportMetric(100*used[2].Seconds()/wall.Seconds(), "one-host-cpu-%")
	b.ReportMetric(used[0].Seconds()/used[2].Seconds(), "fleet/one-host")
	b.ReportMetric(used[0].Seconds()/used[1].Seconds(), fmt.Sprintf("fleet/fleet-%dfps", tui.FPS))
}

// procCPU is the user and system time process pid has used.
func procCPU(t testing.TB, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// After the comm: state is 0, utime 11, stime 12, in clock ticks
	// (100 a second on Linux).
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	sy, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	return time.Duration(ut+sy) * 10 * time.Millisecond
}

// connect is a NATS connection closed at cleanup.
func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// floodRate is the records a second BenchmarkFleetConsoleKeyLatency sends
// the fleet console, fleet-wide (see BENCHMARKS.md for 10,000 and 100,000).
var floodRate = flag.Int("fleet-flood", 100_000, "records a second the fleet console key-latency benchmark floods")

// consoleFPS, when not 0, is the frame rate the fleet console of
// BenchmarkFleetConsoleKeyLatency is run at (its --fps); 0 is its default.
var consoleFPS = flag.Int("fleet-console-fps", 0, "the fleet console's --fps in the key-latency benchmark (0: its default)")

// keyGap, when not 0, spreads BenchmarkFleetConsoleKeyLatency's keys over
// the renderer's ticker: each key waits a random time below it after the
// frame that showed the last one, as a person's keys come at any point of
// a frame period. At 0 each key is pressed just after that frame, so every
// key waits a whole period for the next: the worst case.
var keyGap = flag.Duration("fleet-key-gap", 0, "the key-latency benchmark's keys wait a random time below this after the last key's frame (0: none)")

// fullScreenReads, when set, makes BenchmarkFleetConsoleKeyLatency read
// the whole emulated screen at every look, as it did before it read the
// detail pane's title line alone (for the figures taken before).
var fullScreenReads = flag.Bool("fleet-full-screen-reads", false, "the key-latency benchmark reads the whole screen at every look")

// BenchmarkFleetConsoleKeyLatency times a key (j or k: the selection
// moves) until the emulated screen shows it, in the fleet console over 10
// hosts of 4 plugins, while -fleet-flood records a second arrive from the
// fleet (spread over the hosts, published on their record subjects as
// their links publish them), interleaved in rounds with the same key
// presses while no record arrives: the anchor. It reports each one's p50
// and p99, the ratios of the p50s and of the p99s, and the CPU the console
// and this process used meanwhile (as a percent of one core: the machine
// has two, so 200 is all of it). The detail pane's title line is read
// every 200 µs (the whole screen when its place is not known yet or no
// longer holds it), so a figure includes up to that and one read of it.
// Reading all 160×50 cells at each look, as this did before, cost this
// process a third of a core, on the two the console shares with it.
//
//	go test -run '^$' -bench FleetConsoleKeyLatency -benchtime 200x . [-fleet-flood 10000] [-fleet-console-fps 24] [-fleet-key-gap 50ms]
func BenchmarkFleetConsoleKeyLatency(b *testing.B) {
	const hosts = 10
	perSecond := *floodRate
	srv := natstest.Start(b, natstest.Options{})
	self := testutil.Bin("plugvisor")
	eng := st.Start(b, st.Plugin(b, "echo", self, "args = [\"plugin\", \"echo\"]\ninstances = 4"), st.Options{})
	names := make([]string, hosts)
	for i := range hosts {
		names[i] = fmt.Sprintf("h%02d", i)
		stop, err := fleet.Serve(fleet.ServiceOptions{Conn: connect(b, srv.URL()), API: eng.Sup, Subjects: fleet.Subjects{Prefix: "plugvisor", Host: names[i]}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = stop() })
	}
	for i := range 4 {
		eng.WaitState("echo."+strconv.Itoa(i), supervisor.StateRunning)
	}
	tmp, home := shortTemp(b, "pvk")
	args := []string{"fleet", "--nats", srv.URL()}
	if *consoleFPS != 0 {
		args = append(args, "--fps", strconv.Itoa(*consoleFPS))
	}
	cmd := exec.Command(self, args...)
	cmd.Env = demoEnv(home, tmp)
	term := startInPty(b, cmd, 160, 50)
	term.waitScreen(b, "every host's rows", func(s string) bool { return strings.Contains(s, fmt.Sprintf("Plugins %d", hosts*4)) })
	term.send(b, "g")
	term.waitScreen(b, "the first row selected", func(s string) bool { return selectedOn(s) != "" })
	pub := connect(b, srv.URL())
	sel := &selection{top: selectedOn(term.screen())}
	keys := &keyPath{tb: b, name: "idle", term: term, sel: sel, row: -1}
	flood := &keyPath{tb: b, name: "flood", term: term, sel: sel, row: -1, before: func() func() { return floodFleet(b, pub, names, perSecond) }}
	testutil.InRounds(b, []*keyPath{keys, flood})
	for _, p := range []*keyPath{keys, flood} {
		b.ReportMetric(float64(percentile.Of(p.lat, 50).Microseconds()), p.name+"-p50-µs")
		b.ReportMetric(float64(percentile.Of(p.lat, 99).Microseconds()), p.name+"-p99-µs")
		// Where the machine's two cores went while the keys were timed:
		// the console, and this process (the NATS server, the flood's
		// publisher, the hosts' services and the screen's reader).
		b.ReportMetric(100*p.console.Seconds()/p.wall.Seconds(), p.name+"-console-cpu-%")
		b.ReportMetric(100*p.harness.Seconds()/p.wall.Seconds(), p.name+"-harness-cpu-%")
	}
	b.ReportMetric(float64(percentile.Of(flood.lat, 50))/float64(percentile.Of(keys.lat, 50)), "p50-ratio")
	b.ReportMetric(float64(percentile.Of(flood.lat, 99))/float64(percentile.Of(keys.lat, 99)), "p99-ratio")
	if l := lineWith(term.screen(), "dropped"); l != "" {
		b.Logf("the console's header: %s", strings.TrimSpace(l))
	}
}

// selection is where the keys move the console's selection: j from the
// first row to the second, k back.
type selection struct {
	down      bool   // the last key was j
	top, next string // the instances of the two rows; next is learnt at the first j
}

// keyPath presses keys and times each until the screen moves.
type keyPath struct {
	tb     testing.TB
	name   string
	term   *vterm
	before func() (stop func())
	lat    []time.Duration
	sel    *selection // shared by the paths: they press keys on one console
	row    int        // the screen's row of the detail pane's title line, or -1
	// CPU used by the console and by this process while the keys were
	// timed, over wall.
	console, harness, wall time.Duration
}

func (p *keyPath) Label() string { return p.name }

func (p *keyPath) Run(n int) error {
	if p.before != nil {
		defer p.before()()
	}
	c0, h0, t0 := procCPU(p.tb, p.term.cmd.Process.Pid), procCPU(p.tb, os.Getpid()), time.Now()
	defer func() {
		p.console += procCPU(p.tb, p.term.cmd.Process.Pid) - c0
		p.harness += procCPU(p.tb, os.Getpid()) - h0
		p.wall += time.Since(t0)
	}()
	for range n {
		key, want := p.sel.press()
		if *keyGap > 0 {
			time.Sleep(rand.N(*keyGap)) // a key's moment, not a wait for anything
		}
		t0 := time.Now()
		if _, err := p.term.pty.WriteString(key); err != nil {
			return err
		}
		now := p.selected()
		for ; !want(now); now = p.selected() {
			if time.Since(t0) > 30*time.Second {
				return fmt.Errorf("key %s: the screen did not move in 30 s; the screen:\n%s", key, p.term.screen())
			}
			// Not a spin: the screen's reader must get the emulator's
			// lock to take in what the console wrote.
			time.Sleep(200 * time.Microsecond)
		}
		p.sel.seen(now)
		p.lat = append(p.lat, time.Since(t0))
	}
	return nil
}

// press is the next key and what the selection shown must be once the
// console has taken it. A key is timed until the screen shows where it
// leads, not until the selection shown changes: a look that caught the
// screen before the last key's frame was whole would otherwise make the
// next key, which undoes it, leave the screen as it was looked at, and be
// waited for in vain.
func (s *selection) press() (key string, want func(string) bool) {
	if s.down = !s.down; !s.down {
		return "k", func(now string) bool { return now == s.top }
	}
	if s.next == "" {
		return "j", func(now string) bool { return now != "" && now != s.top }
	}
	return "j", func(now string) bool { return now == s.next }
}

// seen learns the second row's instance from the first j's frame.
func (s *selection) seen(now string) {
	if s.down && s.next == "" {
		s.next = now
	}
}

// selected is the instance the screen's detail pane names, or "", read
// from its title line's row alone once that is known: it is what changes
// with a key, and a look at 160 cells leaves the console the CPU a look at
// 8,000 would take from it.
func (p *keyPath) selected() string {
	if p.row >= 0 && !*fullScreenReads {
		if s := selectedIn(rowOn(p.term, p.row)); s != "" {
			return s
		}
	}
	screen := p.term.screen()
	p.row = -1
	for y, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "1 Logs") {
			p.row = y
			break
		}
	}
	return selectedOn(screen)
}

// rowOn is row y of v's screen, read under the locks screen takes.
func rowOn(v *vterm, y int) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.vt.Lock()
	defer v.vt.Unlock()
	cols, rows := v.vt.Size()
	if y >= rows {
		return ""
	}
	line := make([]rune, cols)
	for x := range cols {
		line[x] = v.vt.Cell(x, y).Char
	}
	return string(line)
}

// selectedRe finds the selected instance in the detail pane's title line
// ("╭─  1 Logs  2 Data … ─ h00/echo.0 ● running ──").
var selectedRe = regexp.MustCompile(`1 Logs .*─ (\S+) [●◐◑○◌✖■]`)

// selectedOn is the instance the screen's detail pane names, or "". A key
// is timed until this changes, not until anything on its line does: a
// line redrawn for another reason (a state settling, a frame half
// written) would pass for the key, and the next key, undoing it within
// the same frame, would then leave the screen as it was and be waited for
// in vain.
func selectedOn(screen string) string { return selectedIn(lineWith(screen, "1 Logs")) }

// selectedIn is the instance a detail pane's title line names, or "".
func selectedIn(line string) string {
	m := selectedRe.FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	return m[1]
}

// floodFleet publishes perSecond records spread over hosts' echo.0, as
// their links would, until stop is called.
func floodFleet(b *testing.B, nc *nats.Conn, hosts []string, perSecond int) (stop func()) {
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		const tick = 10 * time.Millisecond
		per := perSecond / int(time.Second/tick)
		t := time.NewTicker(tick)
		defer t.Stop()
		seq := 0
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			for range per {
				h := hosts[seq%len(hosts)]
				m := nats.NewMsg(fleet.Subjects{Prefix: "plugvisor", Host: h}.Records("echo", "tick"))
				m.Header.Set(fleet.HeaderInstance, "echo.0")
				m.Header.Set(fleet.HeaderTimestamp, strconv.FormatInt(time.Now().UnixNano(), 10))
				m.Data = []byte(`{"data_type":"tick","seq":"` + strconv.Itoa(seq) + `"}`)
				if err := nc.PublishMsg(m); err != nil {
					b.Error(err)
					return
				}
				seq++
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // let the flood reach its rate before the first key
	return func() { close(done); <-ended }
}
