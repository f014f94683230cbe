package describe

import (
	"cmp"
	"strconv"
	"strings"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// maxValue bounds one value drawn and copied: reasons and arguments come
// from the engine and from configuration, and the view wraps them whole.
const maxValue = 16 << 10

// Entry is one labelled value. Section headers have no value.
type Entry struct {
	Label, Value string
	Section      bool
	Warn         bool // worth a look: limit hits, an unenforced limit
}

// Entries is everything the console knows of instance id, in sections.
func Entries(s *state.Store, id string, now time.Time) []Entry {
	p := s.Plugin(id)
	if p == nil {
		return nil
	}
	ps := p.Status
	var out []Entry
	add := func(k, v string) { out = append(out, Entry{Label: k, Value: v}) }
	section := func(name string) { out = append(out, Entry{Label: name, Section: true}) }

	if ps.Host != "" {
		section("host")
		add("host", ps.Host)
		add("labels", render.Labels(ps.HostLabels))
		seen := "answering · last seen " + render.Stamp(ps.HostLastSeen)
		if ps.HostUnreachable {
			seen = render.Unreachable(true, ps.HostLastSeen, now)
			if !ps.HostLastSeen.IsZero() {
				seen += " (" + render.Stamp(ps.HostLastSeen) + ")"
			}
			seen += ": what follows is its last known state"
		}
		out = append(out, Entry{Label: "reachable", Value: seen, Warn: ps.HostUnreachable})
	}

	section("configuration")
	add("plugin", ps.Name)
	add("instance", ps.Instance)
	add("instances", instances(s, ps))
	add("restart", render.OrDash(ps.Restart))
	add("exec", render.OrDash(ps.Exec))
	add("sha256", render.OrDash(ps.SHA256))
	add("args", args(ps.Args))
	add("env keys", envKeys(ps.EnvKeys))
	add("version", version(ps))
	add("limits", cmp.Or(ps.Limits, "none"))
	add("work dir", render.OrDash(ps.WorkDir))
	add("stdout log", render.OrDash(ps.StdoutLog))
	add("stderr log", render.OrDash(ps.StderrLog))

	section("process")
	add("state", string(ps.State)+" for "+render.Age(now.Sub(ps.Since))+" (since "+render.Stamp(ps.Since)+")")
	add("reason", render.OrDash(ps.Reason))
	add("pid / pgid", num(ps.PID)+" / "+num(ps.PGID))
	add("started", render.Stamp(ps.Started))
	add("uptime", uptime(ps, now))
	add("restarts", strconv.Itoa(ps.Restarts))
	if ps.State == supervisor.StateBackoff && !ps.NextStart.IsZero() {
		add("next start", "in "+render.Age(ps.NextStart.Sub(now))+" ("+render.Stamp(ps.NextStart)+")")
	}
	add("heartbeat", heartbeat(ps, now))
	add("load", load(ps))
	add("protocol", strconv.Itoa(int(ps.Protocol)))

	section("cgroup and limits")
	out = append(out, contain(ps)...)

	section("exit history (newest first)")
	if len(ps.Exits) == 0 {
		add("exits", "none")
	}
	for i := len(ps.Exits) - 1; i >= 0; i-- {
		e := ps.Exits[i]
		add("exit", e.String()+" at "+render.Stamp(e.Time)+": "+render.OrDash(e.Reason))
	}

	section("counters")
	add("records", "in "+render.Uint(ps.RecordsIn)+" · out "+render.Uint(ps.RecordsOut)+" · "+render.Rate(ps.RecordsPerSec)+"/s")
	add("tasks", "sent "+render.Uint(ps.TasksSent)+" · answered "+render.Uint(ps.TasksAnswered)+" · failed "+render.Uint(ps.TasksFailed)+" · in flight "+strconv.Itoa(ps.InFlight))
	add("timeouts", render.Uint(ps.TasksTimedOut))
	add("rtt", "p50 "+render.RTT(ps.RTTp50)+" · p99 "+render.RTT(ps.RTTp99))
	add("frames", "in "+render.Uint(ps.FramesIn)+" · out "+render.Uint(ps.FramesOut))
	add("bytes", "in "+render.Bytes(int64(ps.BytesIn))+" · out "+render.Bytes(int64(ps.BytesOut)))
	add("reply cut", render.Uint(ps.ReplyRecordsDropped)+" progress records ("+render.Bytes(int64(ps.ReplyBytesDropped))+")")
	add("log writes", render.Uint(ps.LogWritesDropped)+" dropped")
	add("kept here", strconv.Itoa(p.Records.Len())+" records · "+strconv.Itoa(p.Logs.Len())+" log lines")
	for i := range out {
		out[i].Value = render.Sanitize(render.Head(out[i].Value, maxValue))
	}
	return out
}

// contain is how the current or last run is held; before a first start the
// engine has nothing to say.
func contain(ps supervisor.PluginStatus) []Entry {
	if ps.Started.IsZero() {
		return []Entry{{Label: "containment", Value: "known once it has started"}}
	}
	out := []Entry{
		{Label: "user", Value: cmp.Or(ps.User, "supervisor's own")},
		{Label: "cgroup", Value: cmp.Or(ps.Cgroup, render.NoCgroup)},
		{Label: "limits", Value: cmp.Or(ps.Limits, "none")},
	}
	if ps.LimitsNotEnforced != "" {
		out = append(out, Entry{Label: "unenforced", Value: ps.LimitsNotEnforced, Warn: true})
	}
	hits := ps.OOMKills > 0 || ps.PidsLimitHits > 0
	return append(out,
		Entry{Label: "sandbox", Value: render.YesNo(ps.Sandboxed)},
		Entry{Label: "limit hits", Value: "oom kills " + render.Uint(ps.OOMKills) + " · pids_max hits " + render.Uint(ps.PidsLimitHits), Warn: hits})
}

// instances counts the plugin's instances, as configured when the engine
// says, and names those the console knows.
func instances(s *state.Store, ps supervisor.PluginStatus) string {
	var ids []string
	for _, id := range s.Order() {
		if s.Plugin(id).Status.Name == ps.Name {
			ids = append(ids, id)
		}
	}
	n := ps.Instances
	if n <= 0 {
		n = len(ids)
	}
	return strconv.Itoa(n) + ": " + strings.Join(ids, ", ")
}

// envKeys names the variables the configuration sets; their values may
// be secrets, and the engine does not send them.
func envKeys(keys []string) string {
	if len(keys) == 0 {
		return "none set by the configuration"
	}
	return strings.Join(keys, " ")
}

// args quotes the arguments that would not read back as one word.
func args(a []string) string {
	if len(a) == 0 {
		return "none"
	}
	out := make([]string, len(a))
	for i, s := range a {
		if s == "" || strings.ContainsAny(s, " \t\"'") {
			s = strconv.Quote(s)
		}
		out[i] = s
	}
	return strings.Join(out, " ")
}

func version(ps supervisor.PluginStatus) string {
	v := render.OrDash(ps.Version)
	if ps.PluginVersion != "" {
		v += " (plugin says " + ps.PluginVersion + ")"
	}
	return v
}

func heartbeat(ps supervisor.PluginStatus, now time.Time) string {
	live := ps.State == supervisor.StateRunning || ps.State == supervisor.StateStopping
	if ps.LastHeartbeat.Unix() <= 0 || !live {
		return "none"
	}
	return render.Age(now.Sub(ps.LastHeartbeat)) + " ago · rtt " + render.Duration(ps.HeartbeatRTT)
}

func load(ps supervisor.PluginStatus) string {
	if ps.PID <= 0 {
		return "-"
	}
	return "cpu " + strconv.FormatFloat(ps.CPUPercent, 'f', 1, 64) + "% · rss " + render.Bytes(ps.RSS)
}

func uptime(ps supervisor.PluginStatus, now time.Time) string {
	if d := ps.Uptime(now); d > 0 {
		return render.Age(d)
	}
	return "-"
}

func num(n int) string {
	if n <= 0 {
		return "-"
	}
	return strconv.Itoa(n)
}
