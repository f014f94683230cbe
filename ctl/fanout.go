package ctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/script"
	"github.com/plugvisor/plugvisor/supervisor"
)

// hostOutcome is how one host of a fan-out did.
type hostOutcome string

// The outcomes a fan-out counts.
const (
	hostAnswered     hostOutcome = "answered"
	hostErrorReply   hostOutcome = "error_reply"
	hostTimedOut     hostOutcome = "timed_out"
	hostNoResponders hostOutcome = "no_responders"
	hostFailed       hostOutcome = "failed"
)

// hostResult is one host's part of a fan-out, as --json prints it.
type hostResult struct {
	Host    string            `json:"host"`
	Outcome hostOutcome       `json:"outcome"`
	RTT     time.Duration     `json:"rtt"` // the caller's: request sent → answer in
	Reply   *supervisor.Reply `json:"reply,omitempty"`
	Error   string            `json:"error,omitempty"`
}

// classify is the outcome of a host's call that returned err (and, for a
// task, reply).
func classify(err error, reply *supervisor.Reply) hostOutcome {
	switch {
	case reply != nil && reply.Outcome == supervisor.OutcomeAnswered:
		return hostAnswered
	case reply != nil && reply.Outcome == supervisor.OutcomeError:
		return hostErrorReply
	case errors.Is(err, fleet.ErrNoResponders):
		return hostNoResponders
	case reply != nil && reply.Outcome == supervisor.OutcomeTimedOut,
		errors.Is(err, supervisor.ErrTaskTimeout), errors.Is(err, context.DeadlineExceeded):
		return hostTimedOut
	case err == nil && reply == nil:
		return hostAnswered
	}
	return hostFailed
}

// hostResults is each host's result of a fan-out; withReply: the calls
// were tasks, each with its reply.
func hostResults(calls []fleet.HostReply, withReply bool) []hostResult {
	out := make([]hostResult, len(calls))
	for i, hc := range calls {
		res := hostResult{Host: hc.Host, RTT: hc.RTT}
		if withReply {
			res.Reply = &calls[i].Reply
		}
		res.Outcome = classify(hc.Err, res.Reply)
		if hc.Err != nil {
			res.Error = hc.Err.Error()
		}
		out[i] = res
	}
	return out
}

func (r *fleetRun) send() int {
	plugin, content := r.cmd.args[0], r.cmd.args[2]
	hosts := r.targets()
	if len(hosts) == 0 {
		return r.noHosts()
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.cmd.timeout)
	defer cancel()
	replies := r.fl.FanOut(ctx, hosts, supervisor.TaskRequest{Plugin: plugin, ID: r.cmd.id, Content: content}, supervisor.NewTokens("fleet"))
	results := hostResults(replies, true)
	return r.report(results, plugin)
}

// act is start, stop or restart of a name on every host picked, after
// one confirmation.
func (r *fleetRun) act() int {
	name := r.cmd.args[0]
	hosts := r.targets()
	if len(hosts) == 0 {
		return r.noHosts()
	}
	what := fmt.Sprintf("%s %s on %d hosts (%s)", r.cmd.verb, name, len(hosts), strings.Join(hosts, ", "))
	if err := r.confirm(what); err != nil {
		return r.fail(exitCode(err), err)
	}
	calls := r.fl.Each(r.ctx, hosts, func(ctx context.Context, _ int, c *fleet.Client) error {
		do := map[string]func(context.Context, string) error{"start": c.Start, "stop": c.Stop, "restart": c.Restart}[r.cmd.verb]
		return do(ctx, name)
	})
	results := hostResults(calls, false)
	return r.report(results, name)
}

// report prints each host's result and the summary, and gives the exit
// code: 0 when every host answered, ExitPartial when some did, else the
// code of what went wrong everywhere.
func (r *fleetRun) report(results []hostResult, name string) int {
	counts := map[hostOutcome]int{}
	tw := newTable(r.out)
	for _, res := range results {
		counts[res.Outcome]++
		if r.cmd.json {
			_ = writeJSONLine(r.out, res)
			continue
		}
		fmt.Fprintln(tw, resultLine(res, name))
	}
	_ = tw.Flush()
	summary := fmt.Sprintf("%d hosts: %d answered, %d error replies, %d timed out, %d no responders, %d failed",
		len(results), counts[hostAnswered], counts[hostErrorReply], counts[hostTimedOut], counts[hostNoResponders], counts[hostFailed])
	if r.cmd.json {
		fmt.Fprintln(r.errOut, summary)
	} else {
		fmt.Fprintln(r.out, summary)
	}
	switch ok := counts[hostAnswered]; {
	case ok == len(results):
		return ExitOK
	case ok > 0:
		return ExitPartial
	case counts[hostNoResponders] == len(results):
		return ExitUnreachable
	case counts[hostTimedOut] == len(results):
		return ExitTimeout
	}
	return ExitFailed
}

// resultLine is one host's result for a person: host, outcome, round
// trip, and the reply's final record or the error.
func resultLine(res hostResult, name string) string {
	rtt := script.RoundDuration(res.RTT).String()
	what := printable(res.Error)
	if rep := res.Reply; rep != nil {
		name = strings.TrimPrefix(firstNonEmpty(rep.Instance, name), res.Host+supervisor.HostSeparator)
		if rep.Outcome.Final() && rep.RTT > 0 {
			rtt = script.RoundDuration(rep.RTT).String()
		}
		switch {
		case rep.Outcome == supervisor.OutcomeError:
			what = "error: " + printable(rep.Error)
		case len(rep.Records) > 0:
			what = recordLine(rep.Records[len(rep.Records)-1])
			if more := len(rep.Records) - 1; more > 0 {
				what += fmt.Sprintf(" (and %d progress records)", more)
			}
		}
	}
	return fmt.Sprintf("%s\t%s\t%s\trtt %s\t%s", res.Host, printable(name), res.Outcome, rtt, what)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// script runs a script over the fleet: 0 when it held everywhere,
// ExitPartial when it held on some hosts and not others.
func (r *fleetRun) script() int {
	path := r.cmd.args[0]
	f, err := os.Open(path)
	if err != nil {
		return r.fail(ExitUsage, err)
	}
	s, err := script.Parse(path, f)
	f.Close()
	if err != nil {
		return r.fail(ExitUsage, err)
	}
	sum, err := s.Run(r.ctx, r.fl, r.out)
	switch {
	case err == nil && sum.OK:
		return ExitOK
	case err != nil:
		return r.fail(exitCode(err), err)
	}
	good := 0
	for _, h := range sum.Hosts {
		if h.Answered == h.Sent && h.TimedOut+h.Failed+h.ExpectFailures == 0 {
			good++
		}
	}
	if good > 0 && good < len(sum.Hosts) {
		return ExitPartial
	}
	return ExitFailed
}
