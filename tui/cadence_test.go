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
	if got := m.snapshotEvery(); got != snapshotInterval {
		t.Fatalf("after a key: snapshots every %v, want %v", got, snapshotInterval)
	}
	m.lastInput = time.Now().Add(-unattendedAfter)
	m.snapInFlight = true
	if cmd := m.touched(tea.MouseClickMsg{}); cmd != nil {
		t.Fatal("a click took a second snapshot while one was in flight")
	}
}

func snapshotTickFor(m *Model) tea.Msg { return snapTickMsg{gen: m.tickGen} }
