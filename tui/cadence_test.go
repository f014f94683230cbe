package tui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/supervisor"
)

// TestUnattendedCadence: a console nobody has touched for unattendedAfter
// takes its snapshots every unattendedInterval; the first key takes one at
// once and brings the 1 s cycle back; a key on an attended console takes
// none of its own.
func TestUnattendedCadence(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	m := newModel(r.sup, Options{Theme: "dark"})
	t.Cleanup(m.close)
	if got := m.snapshotEvery(); got != snapshotInterval {
		t.Fatalf("a console just started snapshots every %v, want %v", got, snapshotInterval)
	}
	if cmd := m.touched(tea.KeyPressMsg{Code: 'j'}); cmd != nil {
		t.Fatal("a key on an attended console took a snapshot of its own")
	}
	m.lastInput = time.Now().Add(-unattendedAfter)
	if got := m.snapshotEvery(); got != unattendedInterval {
		t.Fatalf("unattended: snapshots every %v, want %v", got, unattendedInterval)
	}
	if cmd := m.touched(snapshotTickFor(m)); cmd != nil || !m.unattended() {
		t.Fatal("a message that is not input counted as the operator's")
	}
	cmd := m.touched(tea.KeyPressMsg{Code: 'j'})
	if cmd == nil {
		t.Fatal("the first key on an unattended console took no snapshot")
	}
	msg, ok := cmd().(snapshotMsg)
	if !ok || msg.err != nil || len(msg.statuses) == 0 {
		t.Fatalf("the key's snapshot: %#v", msg)
	}
	gen := m.tickGen
	m.Update(msg)
	if m.snapInFlight || m.tickGen != gen+1 {
		t.Fatalf("the key's snapshot applied: in flight %v, tick generation %d after %d", m.snapInFlight, m.tickGen, gen)
	}
	if got := m.snapshotEvery(); got != snapshotInterval {
		t.Fatalf("after a key: snapshots every %v, want %v", got, snapshotInterval)
	}
	for _, in := range []tea.Msg{tea.PasteMsg{Content: "x"}, tea.MouseWheelMsg{}, tea.MouseClickMsg{}, tea.WindowSizeMsg{Width: 100, Height: 30}} {
		m.lastInput = time.Now().Add(-unattendedAfter)
		if cmd := m.touched(in); cmd == nil {
			t.Fatalf("%T on an unattended console took no snapshot", in)
		}
		m.snapInFlight = false
	}
	m.lastInput = time.Now().Add(-unattendedAfter)
	m.snapInFlight = true
	if cmd := m.touched(tea.MouseClickMsg{}); cmd != nil {
		t.Fatal("a click took a second snapshot while one was in flight")
	}
	m.snapInFlight, m.lost = false, true
	m.lastInput = time.Now().Add(-unattendedAfter)
	if cmd := m.touched(tea.KeyPressMsg{Code: 'j'}); cmd != nil {
		t.Fatal("a key took a snapshot of a lost link")
	}
}

// TestSnapshotCycleOneTick: every snapshot restarts the cycle and voids the
// older tick, so an extra snapshot never leaves two chains of ticks; a tick
// while a snapshot is out starts nothing (the snapshot's arrival ticks), and
// none after the link is lost.
func TestSnapshotCycleOneTick(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	m := newModel(r.sup, Options{Theme: "dark"})
	t.Cleanup(m.close)
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	snap := func() snapshotMsg {
		msg, ok := m.snapshotCmd()().(snapshotMsg)
		if !ok || msg.err != nil {
			t.Fatalf("snapshot: %#v", msg)
		}
		return msg
	}
	m.applySnapshot(snap())
	old := m.tickGen
	m.applySnapshot(snap()) // an extra one, after state changes
	if m.tickGen != old+1 {
		t.Fatalf("tick generation %d after %d: the extra snapshot did not restart the cycle", m.tickGen, old)
	}
	if _, cmd := m.update(snapTickMsg{gen: old}); cmd != nil || m.snapInFlight {
		t.Fatal("the older tick still took a snapshot: two chains of ticks")
	}
	_, cmd := m.update(snapTickMsg{gen: m.tickGen})
	if cmd == nil || !m.snapInFlight {
		t.Fatal("the current tick took no snapshot")
	}
	if _, again := m.update(snapTickMsg{gen: m.tickGen}); again != nil {
		t.Fatal("a tick while the snapshot is out started something")
	}
	m.Update(cmd())
	if m.snapInFlight {
		t.Fatal("the snapshot came and is still counted out")
	}
	m.lost = true
	if _, cmd := m.update(snapTickMsg{gen: m.tickGen}); cmd != nil {
		t.Fatal("a tick after the link was lost took a snapshot")
	}
}

func snapshotTickFor(m *Model) tea.Msg { return snapTickMsg{gen: m.tickGen} }
