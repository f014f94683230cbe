package ctl

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/script"
	"github.com/plugvisor/plugvisor/supervisor"
)

// timeLayout stamps log lines and events.
const timeLayout = "2006-01-02 15:04:05.000"

// table is an aligned table that reaches its writer in one write:
// tabwriter writes each cell and each run of padding on its own, so a
// status table of two instances was 111 writes, each a system call and,
// through terminalSafe, a copy of its own.
type table struct {
	*tabwriter.Writer
	w   io.Writer
	buf bytes.Buffer
}

func newTable(w io.Writer) *table {
	t := &table{w: w}
	t.Writer = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	return t
}

// Flush aligns what was written and writes it all.
func (t *table) Flush() error {
	if err := t.Writer.Flush(); err != nil {
		return err
	}
	_, err := t.w.Write(t.buf.Bytes())
	t.buf.Reset()
	return err
}

// statusTable writes one aligned row per instance.
func statusTable(w io.Writer, snap []supervisor.PluginStatus, now time.Time) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "NAME\tINSTANCE\tSTATE\tPID\tUPTIME\tRESTARTS\tHEARTBEAT\tRTT\tTASKS\tTASK P50\tRECORDS/S\tCPU\tRSS\tSIGNER\tSIGNED\tLAST EXIT\tREASON")
	for _, p := range snap {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\t%.1f\t%.1f%%\t%s\t%s\t%s\t%s\t%s\n",
			p.Name, p.Instance, p.State, pid(p.PID), uptime(p, now),
			p.Restarts, heartbeatAge(p.LastHeartbeat, now), orDash(script.RoundDuration(p.HeartbeatRTT)),
			p.TasksSent, orDash(script.RoundDuration(p.RTTp50)), p.RecordsPerSec, p.CPUPercent, bytesIEC(p.RSS),
			printable(signer(p)), printable(signed(p, now)), printable(lastExit(p.LastExit)), printable(p.Reason))
	}
	return tw.Flush()
}

// signer is the key whose signature authorised the instance's
// executable, by its minisign id and its [trust.keys] name; "-" for none.
func signer(p supervisor.PluginStatus) string {
	if p.SignerKeyID == "" {
		return "-"
	}
	return p.SignerKeyID + " (" + p.SignerKeyName + ")"
}

// signed is the version that key signed and how long ago, by the signer's
// clock (the trusted comment's time); "-" for no signature.
func signed(p supervisor.PluginStatus, now time.Time) string {
	if p.SignerKeyID == "" {
		return "-"
	}
	version := p.SignedVersion()
	d := now.Sub(p.SignedAt)
	switch {
	case d < 0:
		return version + ", " + (-d).Round(time.Second).String() + " in the future"
	case d >= time.Hour:
		return version + ", " + d.Round(time.Minute).String() + " ago"
	}
	return version + ", " + d.Round(time.Second).String() + " ago"
}

// lastExit is how the last run ended. For one the kernel ended at a limit
// it is the engine's reason, which names the limit: "signal killed" alone
// would read as any kill, and REASON moves on to the restart.
func lastExit(e supervisor.Exit) string {
	switch {
	case e.Time.IsZero():
		return "-"
	case e.Limit != "":
		return e.Reason
	}
	return e.String()
}

// infoTable writes the supervisor's Info as aligned key-value lines, a
// list's items on lines of their own under its key.
func infoTable(w io.Writer, info supervisor.Info, now time.Time) error {
	tw := newTable(w)
	row := func(k string, vals ...string) {
		if len(vals) == 0 {
			vals = []string{""}
		}
		for i, v := range vals {
			if i > 0 {
				k = ""
			}
			fmt.Fprintf(tw, "%s\t%s\n", k, cmp.Or(printable(v), "-"))
		}
	}
	row("name", info.Name)
	row("host", info.Host)
	row("pid", pid(info.PID))
	row("started", since(info.Started, now))
	row("socket", info.Socket)
	row("control socket", info.ControlSocket)
	row("config files", info.ConfigFiles...)
	row("dropped events", dropped(info))
	row("refused conns", strconv.FormatUint(info.RefusedConns, 10))
	row("shed conns", strconv.FormatUint(info.ShedConns, 10))
	row("containment", info.Containment...)
	row("watchdog", watchdog(info))
	return tw.Flush()
}

func since(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04:05") + " (up " + now.Sub(t).Truncate(time.Second).String() + ")"
}

// dropped counts the events slow subscribers lost, with their estimated
// size when there were any.
func dropped(info supervisor.Info) string {
	n := strconv.FormatUint(info.DroppedEvents, 10)
	if info.DroppedEventBytes == 0 {
		return n
	}
	return n + " (" + bytesIEC(int64(info.DroppedEventBytes)) + ")"
}

// watchdog says whether plugins die with the supervisor however it dies; a
// restart means the watchdog itself died once, which something did to it.
func watchdog(info supervisor.Info) string {
	if info.WatchdogPID <= 0 {
		return supervisor.NoWatchdog
	}
	s := fmt.Sprintf("pid %d, restarts %d", info.WatchdogPID, info.WatchdogRestarts)
	if info.WatchdogRestarts > 0 {
		s += " (" + supervisor.WatchdogRestarted + ")"
	}
	return s
}

func pid(p int) string {
	if p <= 0 {
		return "-"
	}
	return strconv.Itoa(p)
}

func uptime(p supervisor.PluginStatus, now time.Time) string {
	if p.State != supervisor.StateRunning && p.State != supervisor.StateStarting {
		return "-"
	}
	return p.Uptime(now).Truncate(time.Second).String()
}

func orDash(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return d.String()
}

func heartbeatAge(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s ago", now.Sub(t).Round(100*time.Millisecond))
}

func bytesIEC(n int64) string {
	if n <= 0 {
		return "-"
	}
	const unit = 1024
	v, suffix := float64(n), "B"
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	return fmt.Sprintf("%.1f%s", v, suffix)
}

// recordLine renders a record as key=value pairs, data_type first, the rest
// sorted; values that need it are quoted.
func recordLine(rec protocol.Record) string {
	keys := slices.Sorted(maps.Keys(rec.Fields))
	if i := slices.Index(keys, protocol.FieldDataType); i > 0 {
		keys = append([]string{protocol.FieldDataType}, slices.Delete(keys, i, i+1)...)
	}
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(printable(k) + "=" + quoteIfNeeded(rec.Fields[k]))
	}
	return b.String()
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"'=\\") || !strconv.CanBackquote(s) || printable(s) != s {
		return strconv.Quote(s)
	}
	return s
}

// eventLine renders an event for a person.
func eventLine(ev supervisor.Event) string {
	head := fmt.Sprintf("%s %-9s %s", ev.Time.Format(timeLayout), printable(string(ev.Type)), printable(ev.Instance))
	switch ev.Type {
	case supervisor.EventState:
		return fmt.Sprintf("%s %s (was %s): %s", head, ev.State, ev.Prev, printable(ev.Reason)) + exitText(ev.Exit)
	case supervisor.EventLog:
		return fmt.Sprintf("%s %s: %s", head, printable(string(ev.Log.Stream)), printable(ev.Log.Text))
	case supervisor.EventRecords:
		return fmt.Sprintf("%s %d records: %s", head, len(ev.Records), firstRecord(ev.Records))
	case supervisor.EventTask:
		return head + " " + taskText(ev.Task)
	case supervisor.EventHeartbeat:
		return fmt.Sprintf("%s rtt %s", head, script.RoundDuration(ev.RTT))
	case supervisor.EventDropped:
		return fmt.Sprintf("%s lost %d events (this subscriber fell behind)", head, ev.Dropped)
	case supervisor.EventSupervisorLog:
		return supervisorLogLine(head, ev)
	}
	return head
}

func firstRecord(recs []protocol.Record) string {
	if len(recs) == 0 {
		return ""
	}
	s := recordLine(recs[0])
	if len(recs) > 1 {
		s += " …"
	}
	return s
}

func taskText(t *supervisor.TaskEvent) string {
	if t == nil {
		return ""
	}
	switch t.Outcome {
	case supervisor.OutcomePending:
		return fmt.Sprintf("task %d sent (token %s)", t.ID, printable(t.Token))
	case supervisor.OutcomeAnswered, supervisor.OutcomeError:
		return fmt.Sprintf("task %d %s in %s", t.ID, printable(t.Reply.Status), script.RoundDuration(t.Reply.RTT))
	}
	return fmt.Sprintf("task %d %s: %s", t.ID, t.Outcome, printable(t.Detail))
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// fleetStatusTable is statusTable with each row's HOST, the names local to
// it, and whether the host answers.
func fleetStatusTable(w io.Writer, snap []supervisor.PluginStatus, now time.Time) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "HOST\tNAME\tINSTANCE\tSTATE\tPID\tUPTIME\tRESTARTS\tRTT\tTASKS\tTASK P50\tRECORDS/S\tCPU\tRSS\tREASON")
	for _, p := range snap {
		_, name, _ := supervisor.SplitHost(p.Name)
		_, inst, _ := supervisor.SplitHost(p.Instance)
		state, reason := string(p.State), printable(p.Reason)
		if p.HostUnreachable {
			state, reason = "unreachable", "host last seen "+seenText(p.HostLastSeen, now)+"; was "+string(p.State)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\t%.1f\t%.1f%%\t%s\t%s\n",
			p.Host, name, inst, state, pid(p.PID), uptime(p, now), p.Restarts,
			orDash(script.RoundDuration(p.HeartbeatRTT)), p.TasksSent, orDash(script.RoundDuration(p.RTTp50)),
			p.RecordsPerSec, p.CPUPercent, bytesIEC(p.RSS), reason)
	}
	return tw.Flush()
}

// hostsTable lists the hosts a fleet knows.
func hostsTable(w io.Writer, hosts []fleet.HostState, now time.Time) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "HOST\tSTATE\tLAST SEEN\tLABELS")
	for _, h := range hosts {
		state := "live"
		if h.Unreachable {
			state = "unreachable"
		}
		var labels []string
		for _, k := range slices.Sorted(maps.Keys(h.Labels)) {
			labels = append(labels, k+"="+h.Labels[k])
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Name, state, seenText(h.LastSeen, now), printable(strings.Join(labels, ",")))
	}
	return tw.Flush()
}

// seenText is when a host last answered, for a person.
func seenText(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < 10*time.Second {
		return d.Round(100*time.Millisecond).String() + " ago"
	}
	return d.Round(time.Second).String() + " ago"
}
