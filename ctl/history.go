package ctl

import (
	"fmt"

	"github.com/plugvisor/plugvisor/supervisor"
)

// historyTypes are what `ctl history` prints: what happened, not the data
// (records are what `ctl events` and the console's Data tab are for).
var historyTypes = []supervisor.EventType{supervisor.EventState, supervisor.EventTask, supervisor.EventSupervisorLog}

// history prints the last n events the supervisor kept, oldest first.
func (r *run) history(c remote, name string) error {
	page, err := c.HistoryPage(r.ctx, supervisor.HistoryQuery{Plugin: name, Types: historyTypes, N: r.cmd.n})
	if err != nil {
		return err
	}
	if page.Omitted > 0 {
		// On stderr: the output stays one event a line, --json included.
		fmt.Fprintf(r.errOut, "plugvisor ctl history: %d older events left out to fit a frame\n", page.Omitted)
	}
	for _, ev := range page.Events {
		if r.cmd.json {
			if err := r.writeJSON(ev); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(r.out, eventLine(ev))
	}
	return nil
}

// supervisorLogLine renders one line of the supervisor's own log.
func supervisorLogLine(head string, ev supervisor.Event) string {
	l := ev.SupervisorLog
	if l == nil {
		return head
	}
	s := fmt.Sprintf("%s %s %s", head, printable(l.Level), printable(l.Message))
	if l.Attrs != "" {
		s += " " + printable(l.Attrs)
	}
	return s
}

// exitText says how a run ended, for a state change into exited.
func exitText(x *supervisor.Exit) string {
	if x == nil {
		return ""
	}
	s := " [" + x.String()
	if x.Limit != "" {
		s += " at " + printable(x.Limit)
	}
	return s + "]"
}
