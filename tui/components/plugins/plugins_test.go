package plugins

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/themes"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/state"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// t0 is the fixed clock the pane is drawn at.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fleet is a store holding one instance in each situation the table draws
// differently: eleven echo instances (natural order), a heartbeat on time,
// late and nearly hung, a fresh process still showing its predecessor's
// heartbeat, RSS not yet sampled, backoff with its countdown, stopped,
// failed.
func fleet() *state.Store {
	s := state.New()
	running := func(id string, hbAge time.Duration) supervisor.PluginStatus {
		return supervisor.PluginStatus{Name: "echo", Instance: id, Version: "1.0.0", State: supervisor.StateRunning,
			Since: t0.Add(-time.Hour), Started: t0.Add(-time.Hour), PID: 1000 + len(id), RSS: 5 << 20, CPUPercent: 0.5,
			LastHeartbeat: t0.Add(-hbAge), HeartbeatRTT: 300 * time.Microsecond, RecordsPerSec: 2}
	}
	var sts []supervisor.PluginStatus
	for i := range 11 {
		sts = append(sts, running(fmt.Sprintf("echo.%d", i), 200*time.Millisecond))
	}
	sts[3].LastHeartbeat = t0.Add(-3 * time.Second)         // late: past half of 5s
	sts[4].LastHeartbeat = t0.Add(-4500 * time.Millisecond) // nearly hung: past 80%
	fresh := running("echo.5", 23*time.Second)
	fresh.Started, fresh.Since, fresh.RSS, fresh.Restarts = t0.Add(-300*time.Millisecond), t0.Add(-200*time.Millisecond), 0, 1
	sts[5] = fresh
	sts = append(sts,
		supervisor.PluginStatus{Name: "chaos", Instance: "chaos", Version: "1.0.0", State: supervisor.StateBackoff,
			Since: t0.Add(-time.Second), Restarts: 2, NextStart: t0.Add(1700 * time.Millisecond)},
		supervisor.PluginStatus{Name: "ticker", Instance: "ticker", Version: "2.1.0", State: supervisor.StateStopped, Since: t0.Add(-time.Hour)},
		supervisor.PluginStatus{Name: "broken", Instance: "broken", Version: "0.9.0", State: supervisor.StateFailed, Since: t0.Add(-time.Minute)},
	)
	s.SetSnapshot(sts, supervisor.Info{HeartbeatTimeout: 5 * time.Second})
	return s
}

func testContext() *pvctx.Context { return pvctx.New(themes.Dark(), func() time.Time { return t0 }) }

// draw is the pane alone, w×h, ANSI stripped.
func draw(t *testing.T, m *Model, s *state.Store, w, h int) string {
	t.Helper()
	out := ansi.Strip(m.View(testContext(), s, w, h, true))
	lines := strings.Split(out, "\n")
	if len(lines) != h {
		t.Errorf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n != w {
			t.Errorf("line %d is %d cells wide, want %d: %q", i+1, n, w, l)
		}
	}
	return out
}

// TestGoldenPane draws the pane alone at two sizes: every column at 160,
// the columns that fit at 80, marks, a filter-free title.
func TestGoldenPane(t *testing.T) {
	for _, size := range [][2]int{{80, 12}, {160, 19}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			s := fleet()
			var m Model
			m.Sync(s, t0)
			m.Move(2)
			m.ToggleMark()
			m.Move(1)
			m.ToggleMark()
			testutil.Golden(t, "testdata", fmt.Sprintf("plugins-%dx%d", size[0], size[1]), draw(t, &m, s, size[0], size[1]))
		})
	}
}

func rowOf(screen, id string) string {
	for _, l := range strings.Split(screen, "\n") {
		if f := strings.Fields(strings.TrimLeft(l, "│ ✓")); len(f) > 0 && f[0] == id {
			return l
		}
	}
	return ""
}

func TestCells(t *testing.T) {
	s := fleet()
	var m Model
	out := draw(t, &m, s, 160, 19)
	for id, want := range map[string]string{
		"chaos":  "◌ backoff 1.7s",        // the countdown, over the pid's dash
		"echo.5": "1            -    2.0", // a fresh process: its predecessor's heartbeat not shown
	} {
		if !strings.Contains(rowOf(out, id), want) {
			t.Errorf("%s row %q lacks %q", id, rowOf(out, id), want)
		}
	}
	if f := strings.Fields(rowOf(out, "echo.5")); f[len(f)-3] != "-" {
		t.Errorf("RSS not yet sampled shown as %q, want -", f[len(f)-3])
	}
	// The countdown at the narrowest width, where the pid is not shown.
	if row := rowOf(draw(t, &m, s, 40, 12), "chaos"); !strings.Contains(row, "◌ backoff 1.7s") {
		t.Errorf("40 columns: %q", row)
	}
}

func TestLateness(t *testing.T) {
	s := fleet()
	e := &env{now: t0, hbTimeout: 5 * time.Second}
	for id, want := range map[string]lateness{"echo.0": onTime, "echo.3": late, "echo.4": nearlyHung, "echo.5": onTime} {
		if got := beatLateness(s.Plugin(id), e); got != want {
			t.Errorf("%s: lateness %d, want %d", id, got, want)
		}
	}
}

func TestFilter(t *testing.T) {
	s := fleet()
	var m Model
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{"ec10", []string{"echo.10"}},
		{"FAIL", []string{"broken"}}, // by state, any case
		{"2.1", []string{"ticker"}},  // by version
		{"!e", []string{"chaos"}},    // inverted: neither id, state nor version holds an e
		{"", nil},
	} {
		m.SetFilter(c.filter)
		m.Sync(s, t0)
		got := m.Rows()
		if c.want == nil {
			if len(got) != s.Len() {
				t.Errorf("no filter: %d rows of %d", len(got), s.Len())
			}
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("filter %q: %v, want %v", c.filter, got, c.want)
		}
	}
}

func TestSortIsStableAndNatural(t *testing.T) {
	s := fleet()
	var m Model
	m.Sync(s, t0)
	if got := m.Rows()[:4]; !slices.Equal(got, []string{"broken", "chaos", "echo.0", "echo.1"}) {
		t.Fatalf("default order %v", got)
	}
	if err := m.SortBy("state", "desc"); err != nil {
		t.Fatal(err)
	}
	m.Sync(s, t0)
	rows := m.Rows()
	// stopped, running (eleven, in natural order), failed, backoff.
	want := []string{"ticker"}
	for i := range 11 {
		want = append(want, fmt.Sprintf("echo.%d", i))
	}
	want = append(want, "broken", "chaos")
	if !slices.Equal(rows, want) {
		t.Fatalf("by state desc: %v", rows)
	}
	if err := m.SortBy("nope", ""); err == nil {
		t.Fatal("a column that does not exist accepted")
	}
	if err := m.SortBy("rst", "sideways"); err == nil {
		t.Fatal("a direction that does not exist accepted")
	}
}

func TestSelectionFollowsAndOffsetClamps(t *testing.T) {
	s := fleet()
	var m Model
	m.Sync(s, t0)
	m.Bottom() // ticker, the last row
	draw(t, &m, s, 80, 6)
	if m.offset == 0 {
		t.Fatal("the last row selected in a 3-row pane, yet nothing scrolled")
	}
	draw(t, &m, s, 80, 40) // the pane grows: every row fits again
	if m.offset != 0 {
		t.Fatalf("offset %d after growing: rows left scrolled out above", m.offset)
	}
	m.FlipSort()
	m.Sync(s, t0)
	if m.Selected != "ticker" || m.Rows()[m.Cursor()] != "ticker" {
		t.Fatalf("selection %s at cursor %d after reversing", m.Selected, m.Cursor())
	}
	// The rows shrink: the offset follows.
	draw(t, &m, s, 80, 6)
	s.SetSnapshot([]supervisor.PluginStatus{s.Plugin("ticker").Status}, s.Info)
	draw(t, &m, s, 80, 6)
	if m.offset != 0 || m.Selected != "ticker" {
		t.Fatalf("after the rows shrank: offset %d, selected %s", m.offset, m.Selected)
	}
	if i, ok := m.RowAt(2); !ok || i != 0 {
		t.Fatalf("RowAt(2) = %d, %v", i, ok)
	}
}

func TestMarksDroppedWithTheirInstances(t *testing.T) {
	s := fleet()
	var m Model
	m.Sync(s, t0)
	m.MarkAll()
	if n := len(m.Marked(s)); n != s.Len() {
		t.Fatalf("%d marked of %d", n, s.Len())
	}
	s.SetSnapshot([]supervisor.PluginStatus{s.Plugin("chaos").Status}, s.Info)
	m.Sync(s, t0)
	if got := m.Marked(s); !slices.Equal(got, []string{"chaos"}) {
		t.Fatalf("marked after a reload %v", got)
	}
	if len(m.marks) != 1 {
		t.Fatalf("marks of instances gone kept: %v", m.marks)
	}
}
