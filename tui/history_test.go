package tui

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/examples/chaos"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/components/detail"
)

// TestEventsTabShowsTheCrash: the Events tab lists the selected plugin's
// state changes, those from before the console started included (from
// History), and a crash appears with its exit and its reason; a toggles to
// every plugin's.
func TestEventsTabShowsTheCrash(t *testing.T) {
	r := startRigWith(t, func(tb testing.TB) string {
		return pluginTOML(tb, "chaos", true, `restart = "never"`+"\n"+`args = ["--exit-code", "7"]`) + pluginTOML(tb, "echo", true, "")
	})
	r.waitState("chaos", supervisor.StateRunning)
	r.waitState("echo", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitFor("chaos ● running")
	c.press("5")
	// Started before the console: known from History only.
	c.waitFor("5 Events", "starting → ● running", "registered")
	_, _ = r.sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "chaos", ID: chaos.TaskCrash})
	s := c.waitFor("→ ○ exited  exit 7", "exited: exit 7")
	if strings.Contains(s, "echo ") && strings.Contains(s, "echo stopped → ") {
		t.Fatalf("echo's state changes in chaos's events:\n%s", s)
	}
	c.press("a")
	c.waitFor("all plugins", "echo starting → ● running", "chaos", "exit 7")
	c.press("a")
	c.waitScreen("chaos's events alone", func(s string) bool {
		return strings.Contains(s, "exit 7") && !strings.Contains(s, "echo starting")
	})
}

// TestSupervisorTabBackfilledAndLive: the Supervisor tab shows what the
// engine logged before the console started, and goes on as it logs.
func TestSupervisorTabBackfilledAndLive(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 140, 40)
	c.press("6")
	c.waitFor("6 Supervisor", "INFO  supervisor ready", "of the supervisor's log")
	restarted := make(chan error, 1)
	go func() { restarted <- r.sup.Restart(context.Background(), "echo") }()
	c.waitFor("INFO  state  plugin=echo instance=echo from=running to=stopping")
	if err := <-restarted; err != nil {
		t.Fatalf("restart: %v", err)
	}
}

// TestAttachBackfillsRecordsAndTasks: a console attached through the
// control socket shows the records, the round trips and the state changes
// that happened before it attached, as it shows the logs.
func TestAttachBackfillsRecordsAndTasks(t *testing.T) {
	r := startRig(t, true)
	for _, name := range []string{"chaos", "echo", "ticker"} {
		r.waitState(name, supervisor.StateRunning)
	}
	rep, err := r.sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "echo", ID: 4, Content: "sent-before-attach"})
	if err != nil || !rep.Outcome.OK() {
		t.Fatalf("task: %+v, %v", rep, err)
	}
	socket, _ := ct.ServeAPI(t, r.sup, nil)
	client := ct.DialSocket(t, socket)
	c := newConsole(t, client, Options{Lost: client.Done(), LostErr: client.Err}, 140, 40)
	c.waitFor("Plugins 3", "echo ")
	c.press("j", "3")
	c.waitFor("3 Tasks  4 Info  5 Events  6 Supervisor  ─ echo", "sent-before-attach", "answered", "1/1000 round trips")
	c.press("2")
	c.waitFor("content=sent-before-attach")
	c.press("5")
	c.waitFor("echo stopped → ◐ starting", "starting → ● running")
}

// BenchmarkFrameHistory is BenchmarkFrame for the history tabs: 200
// plugins, the rings full (2,000 state changes, 2,000 supervisor log lines
// with long reasons), and each frame one more of each to draw.
func BenchmarkFrameHistory(b *testing.B) {
	r := bigRig(b)
	m := benchModel(b, r.sup, benchW, benchH)
	sel := m.store.Order()[0]
	name := m.store.Plugin(sel).Status.Name
	reason := strings.Repeat("restarted 5 times within 1m0s; start it again when fixed ", 3)
	ev := func(i int) []supervisor.Event {
		at := time.Now()
		return []supervisor.Event{
			{Type: supervisor.EventState, Plugin: name, Instance: sel, Time: at, Prev: supervisor.StateRunning, State: supervisor.StateExited, Reason: reason,
				Exit: &supervisor.Exit{Time: at, Code: 1, Reason: reason}},
			{Type: supervisor.EventSupervisorLog, Plugin: name, Instance: sel, Time: at,
				SupervisorLog: &supervisor.SupervisorLog{Level: "WARN", Message: "state", Attrs: "plugin=" + name + " reason=" + strconv.Quote(reason) + " n=" + strconv.Itoa(i)}},
		}
	}
	for i := range 2000 {
		m.store.Apply(ev(i))
	}
	for _, tab := range []detail.Tab{detail.TabEvents, detail.TabSupervisor} {
		for _, all := range []bool{false, true} {
			if tab == detail.TabSupervisor && all {
				continue
			}
			b.Run("changed-"+strings.ToLower(tab.String())+map[bool]string{true: "-all", false: ""}[all], func(b *testing.B) {
				m.detail.SetTab(tab)
				if all {
					m.detail.ToggleAll()
					defer m.detail.ToggleAll()
				}
				for i := 0; b.Loop(); i++ {
					m.store.Apply(ev(i))
					_ = m.View()
				}
			})
		}
	}
}
