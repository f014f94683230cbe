package detail

import (
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/state"
)

// historyStore is goldenStore with what the history tabs show: stdout and
// stderr lines of three levels, a crash and its restart (lifecycle markers
// in the log, transitions in Events), and the supervisor's own log.
func historyStore() *state.Store {
	s := goldenStore()
	at := func(sec int) time.Time { return goldenAt.Add(time.Duration(sec-60) * time.Second) }
	logLine := func(sec int, stream supervisor.Stream, text string) supervisor.Event {
		return supervisor.Event{Type: supervisor.EventLog, Plugin: "echo", Instance: "echo", Time: at(sec),
			Log: supervisor.LogLine{Time: at(sec), Instance: "echo", Stream: stream, Text: text}}
	}
	change := func(sec int, prev, to supervisor.State, reason string, exit *supervisor.Exit) supervisor.Event {
		return supervisor.Event{Type: supervisor.EventState, Plugin: "echo", Instance: "echo", Time: at(sec), Prev: prev, State: to, Reason: reason, Exit: exit}
	}
	suplog := func(sec int, level, msg, attrs string) supervisor.Event {
		return supervisor.Event{Type: supervisor.EventSupervisorLog, Plugin: "echo", Instance: "echo", Time: at(sec),
			SupervisorLog: &supervisor.SupervisorLog{Level: level, Message: msg, Attrs: attrs}}
	}
	s.Apply([]supervisor.Event{
		logLine(1, supervisor.Stdout, "echo ready: answering tasks"),
		logLine(2, supervisor.Stderr, `level=INFO msg="task answered" id=1`),
		logLine(3, supervisor.Stderr, `level=WARN msg="slow reply" id=3 took=1.2s`),
		logLine(4, supervisor.Stderr, "panic: runtime error: index out of range [3] with length 3"),
		change(5, supervisor.StateRunning, supervisor.StateExited, "exited: exit 2", &supervisor.Exit{Time: at(5), Code: 2, Reason: "exited: exit 2"}),
		change(5, supervisor.StateExited, supervisor.StateBackoff, "restart 3 in 1.7s", nil),
		suplog(5, "WARN", "state", "plugin=echo instance=echo from=running to=exited reason=\"exited: exit 2\""),
		change(7, supervisor.StateBackoff, supervisor.StateStarting, "backoff elapsed", nil),
		change(7, supervisor.StateStarting, supervisor.StateRunning, "registered (pid 4242, protocol v1)", nil),
		suplog(7, "INFO", "state", "plugin=echo instance=echo from=starting to=running reason=\"registered (pid 4242, protocol v1)\""),
		logLine(8, supervisor.Stdout, "echo ready: answering tasks"),
	})
	return s
}

// TestDetailGoldenHistory draws the Logs (plain and searching), Events and
// Supervisor tabs alone from a store, at 80 and 160 columns.
func TestDetailGoldenHistory(t *testing.T) {
	s := historyStore()
	goldenTabs(t, s, []string{"logs", "logs-search", "events", "supervisor"}, func(m *Model, tab string) {
		switch tab {
		case "logs":
			m.SetTab(TabLogs)
		case "logs-search":
			m.SetTab(TabLogs)
			m.SetFilter("ready") // a search: every line stays, matches highlighted
			m.FindNearest(s)
		case "events":
			m.SetTab(TabEvents)
		case "supervisor":
			m.SetTab(TabSupervisor)
		}
	})
}
