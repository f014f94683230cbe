package state

import (
	"strings"

	"github.com/plugvisor/plugvisor/internal/clip"
	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/internal/termtext"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Lifecycle is the stream of the marker lines the store puts in an
// instance's log for each of its state changes, so its output reads
// against what happened to the process (`── exited: exit status 1 ──`).
const Lifecycle supervisor.Stream = "lifecycle"

// maxMarkerReason bounds the reason a marker carries: reasons hold plugin
// text (a registration's rejection, an exit's stderr tail).
const maxMarkerReason = 256

// lifecycleMarker is the marker line of a state event: "STATE: reason".
// It is charged to the log ring like any line.
func lifecycleMarker(e *supervisor.Event) supervisor.LogLine {
	text := string(e.State)
	if e.Reason != "" {
		// "exited: exit 1" would say exited twice.
		full := strings.TrimPrefix(e.Reason, string(e.State)+": ")
		reason := clip.Head(full, maxMarkerReason)
		if len(reason) < len(full) {
			reason += "…"
		}
		text += ": " + termtext.Blank(reason)
	}
	return supervisor.LogLine{Time: e.Time, Instance: e.Instance, Stream: Lifecycle, Text: text}
}

// pushMarker puts the marker of e in logs. A backoff right after an exit
// is the same story in two events, so it is told in one line
// (`── exited: exit 1 · restart 2 in 1.7s ──`): merged into the exit's
// marker while that is still the newest line, recharged to the ring's
// budget, pushed alone otherwise.
func pushMarker(logs *ring.Ring[supervisor.LogLine], e *supervisor.Event) {
	m := lifecycleMarker(e)
	if e.State == supervisor.StateBackoff && e.Reason != "" && logs.Len() > 0 {
		i := logs.Len() - 1
		if last := logs.Ptr(i); last.Stream == Lifecycle && last.Instance == e.Instance &&
			strings.HasPrefix(last.Text, string(supervisor.StateExited)) {
			last.Text += " · " + strings.TrimPrefix(m.Text, string(e.State)+": ")
			logs.Recharge(i)
			return
		}
	}
	logs.Push(m)
}
