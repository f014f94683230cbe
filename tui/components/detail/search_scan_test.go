package detail

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/themes"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/state"
)

// bigLogStore holds two instances, a and b, each with n lines of about
// 1 KiB, every 100th of them holding "needle".
func bigLogStore(n int) *state.Store {
	s := state.New()
	var sts []supervisor.PluginStatus
	for _, id := range []string{"a", "b"} {
		sts = append(sts, supervisor.PluginStatus{Name: id, Instance: id, State: supervisor.StateRunning})
	}
	s.SetSnapshot(sts, supervisor.Info{})
	pad := strings.Repeat("lorem ipsum ", 85)
	for _, id := range []string{"a", "b"} {
		var batch []supervisor.Event
		for i := range n {
			text := fmt.Sprintf("%d %s", i, pad)
			if i%100 == 0 {
				text += " needle"
			}
			batch = append(batch, supervisor.Event{Type: supervisor.EventLog, Plugin: id, Instance: id,
				Log: supervisor.LogLine{Instance: id, Text: text}})
		}
		s.Apply(batch)
	}
	return s
}

func scanCtx() *pvctx.Context { return pvctx.New(themes.Default(), time.Now) }

// searchTyped is a search for "needle" just typed over instance a's full
// buffer (bigLogStore), and drawn once.
func searchTyped() (Model, *state.Store) {
	s := bigLogStore(5000)
	m := New()
	m.Show("a")
	m.SetTab(TabLogs)
	m.SetFilter("needle")
	m.FindNearest(s) // as the key typed does
	m.View(scanCtx(), s, 120, 40, true)
	return m, s
}

// A new search over a full buffer matches one slice per call, not the
// whole buffer on the key that typed it; the rest comes with SearchStep.
func TestSearchScansInSlices(t *testing.T) {
	m, s := searchTyped()
	p := s.Plugin("a")
	matched := p.Logs.Len() - m.logs.hits.pending(p.Logs)
	if matched == 0 || matched*1024 > 2*scanSlice+2048 {
		t.Fatalf("one key and frame matched %d of %d lines", matched, p.Logs.Len())
	}
	steps := 0
	for m.Searching(s) {
		m.SearchStep(s)
		if steps++; steps > 100 {
			t.Fatal("the scan does not end")
		}
	}
	want := 0
	for i := range p.Logs.Len() {
		if strings.HasSuffix(p.Logs.At(i).Text, "needle") {
			want++
		}
	}
	if got := m.logs.hits.count(); got != want {
		t.Fatalf("%d matches, want %d", got, want)
	}
	if m.logs.find.cur == 0 {
		t.Error("the scan ended without going to the nearest match")
	}
}

// n or N pressed while the scan goes on is the operator's choice: the
// scan's end does not take them back to the nearest match.
func TestStepDuringScanIsKept(t *testing.T) {
	m, s := searchTyped()
	if !m.Searching(s) {
		t.Fatal("the scan ended on the first slice: the buffer is too small for this test")
	}
	m.FindStep(s, -1)
	chosen := m.logs.find.cur
	if chosen == 0 {
		t.Fatal("N found no match")
	}
	for steps := 0; m.Searching(s); steps++ {
		m.SearchStep(s)
		if steps > 100 {
			t.Fatal("the scan does not end")
		}
	}
	if m.logs.find.cur != chosen {
		t.Errorf("the scan's end moved the current match from line %d to line %d: N was undone", chosen, m.logs.find.cur)
	}
}

// Moving to another row and back keeps the matches of the first: j and k
// do not rescan the buffer.
func TestSearchMemoPerInstance(t *testing.T) {
	s := bigLogStore(2000)
	m := New()
	m.Show("a")
	m.SetTab(TabLogs)
	m.SetFilter("needle")
	for m.View(scanCtx(), s, 120, 40, true); m.Searching(s); {
		m.SearchStep(s)
	}
	memo := m.logs.hits
	m.Show("b")
	m.View(scanCtx(), s, 120, 40, true)
	m.Show("a")
	m.View(scanCtx(), s, 120, 40, true)
	if m.logs.hits != memo || m.Searching(s) {
		t.Error("coming back to a rescans its buffer")
	}
}

func TestSearchRefusesCostlyPatterns(t *testing.T) {
	for _, expr := range []string{`(.{0,20}){5}x`, `((a{10}){10})`, strings.Repeat(`[a-z]\d`, 200)} {
		if q := parseSearch(expr); q.invalid == "" {
			t.Errorf("%q accepted", expr)
		} else if !q.hit("x " + expr + " y") {
			t.Errorf("%q refused is not matched literally", expr)
		}
	}
	for _, expr := range []string{`err(or)?`, `a{100}`, `^\d+ lorem`, `timeout`} {
		if q := parseSearch(expr); q.invalid != "" {
			t.Errorf("%q refused: %s", expr, q.invalid)
		}
	}
	if q := parseSearch("Needle"); !q.literal || !q.hit("a NEEDLE b") || q.hit("nedle") {
		t.Error("a plain word is not a case-folded literal search")
	}
}

// BenchmarkSearchKey is one key of a search typed over 5,000 lines of
// 1 KiB and the frame after it: the key → frame cost.
func BenchmarkSearchKey(b *testing.B) {
	s := bigLogStore(5000)
	c := scanCtx()
	m := New()
	m.Show("a")
	m.SetTab(TabLogs)
	words := []string{"needl", "needle"}
	for i := 0; b.Loop(); i++ {
		m.SetFilter(words[i%2])
		m.FindNearest(s)
		m.View(c, s, 120, 40, true)
	}
}
