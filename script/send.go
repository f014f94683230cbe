package script

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// outcome classifies one task.
type outcome int

const (
	answered outcome = iota
	answeredBadly
	expectFailed
	timedOut
	failed
)

// tally is one send step's figures.
type tally struct {
	mu       sync.Mutex
	sum      Summary
	rtts     samples
	reported int // failures printed one by one
}

func (t *tally) add(o outcome, rtt time.Duration, expectFailures int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &t.sum
	s.Sent++
	switch o {
	case timedOut:
		s.TimedOut++
		return
	case failed:
		s.Failed++
		return
	case answeredBadly:
		s.Failed++
	}
	s.Answered++
	s.ExpectFailures += expectFailures
	t.rtts.add(rtt)
}

// report says whether one more failure may be printed.
func (t *tally) report() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reported++
	return t.reported <= maxReported
}

func (st *SendStep) run(ctx context.Context, r *runner) error {
	targets, err := r.targets(ctx, st.Hosts, st.Name)
	if err != nil {
		return err
	}
	start := time.Now()
	tallies := make([]*tally, len(targets))
	var wg sync.WaitGroup
	for i, tg := range targets {
		wg.Go(func() { tallies[i] = st.runOn(ctx, r, tg, start) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	took := time.Since(start)
	if st.Hosts == "" {
		r.merge(tallies[0], "")
		st.print(r, tallies[0], took, "")
		return nil
	}
	all := &tally{rtts: newSamples(st.Count * len(targets))}
	for i, t := range tallies {
		r.merge(t, targets[i].host)
		st.print(r, t, took, targets[i].host+": ")
		all.sum = all.sum.plus(t.sum)
		all.rtts.merge(&t.rtts)
	}
	st.print(r, all, took, fmt.Sprintf("%d hosts: ", len(targets)))
	return nil
}

// runOn sends the step's tasks to one target, the step's start pacing
// its rate.
func (st *SendStep) runOn(ctx context.Context, r *runner, tg target, start time.Time) *tally {
	t := &tally{rtts: newSamples(st.Count)}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(st.Concurrency, st.Count) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(st.Count) && ctx.Err() == nil; i = next.Add(1) - 1 {
				// Task i is due at start + i/rate: the rate holds over the
				// whole step whatever the round trips do.
				if st.Rate > 0 && sleep(ctx, time.Until(start.Add(slot(i, st.Rate)))) != nil {
					return
				}
				st.one(ctx, r, t, tg)
			}
		})
	}
	wg.Wait()
	return t
}

// slot is when task i of a step at rate tasks a second is due, counted from
// the step's start. Computed in floating point and clamped, so neither a
// slow rate nor a large i overflows a Duration (which would make the wait
// negative and the rate limit vanish).
func slot(i int64, rate float64) time.Duration {
	d := float64(i) / rate * float64(time.Second)
	if d >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(d)
}

// one sends one task and judges its reply.
func (st *SendStep) one(ctx context.Context, r *runner, t *tally, tg target) {
	tctx, cancel := ctx, context.CancelFunc(func() {})
	if st.Timeout > 0 {
		tctx, cancel = context.WithTimeout(ctx, st.Timeout)
	}
	t0 := time.Now()
	reply, err := r.api.SendTask(tctx, supervisor.TaskRequest{Plugin: tg.name, ID: st.ID, Content: st.Content})
	rtt := time.Since(t0)
	cancel()
	if err != nil && ctx.Err() != nil {
		return // the run is over; this task does not count
	}
	o, fails, msgs := st.judge(reply, err)
	t.add(o, rtt, fails)
	for _, m := range msgs {
		if t.report() {
			if tg.host != "" {
				m = tg.host + ": " + m
			}
			r.printf("%s\n", m)
		}
	}
}

// judge classifies a task's result and explains every failure. With no
// expectations a send expects task_status ok.
func (st *SendStep) judge(reply supervisor.Reply, err error) (outcome, int, []string) {
	switch {
	case reply.Outcome == supervisor.OutcomeTimedOut:
		return timedOut, 0, []string{fmt.Sprintf("%s: %s: timed out: %v", st.Pos.String(), st.Text, err)}
	case !reply.Outcome.Final() || reply.Outcome == supervisor.OutcomeGone ||
		reply.Outcome == supervisor.OutcomeCancelled || reply.Outcome == supervisor.OutcomeNotSent:
		why := error(fmt.Errorf("%s", reply.Outcome))
		if err != nil {
			why = err
		}
		return failed, 0, []string{fmt.Sprintf("%s: %s: %v", st.Pos.String(), st.Text, why)}
	case len(st.Expect) == 0 && !reply.Outcome.OK():
		return answeredBadly, 0, []string{fmt.Sprintf("%s: %s: task %d replied %s: %s; reply: %s",
			st.Pos.String(), st.Text, reply.ID, reply.Status, reply.Error, describe(reply))}
	}
	var msgs []string
	for _, e := range st.Expect {
		if why := e.check(reply); why != "" {
			msgs = append(msgs, fmt.Sprintf("%s: %s: failed: %s; reply: %s", e.Pos.String(), e.Text, why, describe(reply)))
		}
	}
	if len(msgs) > 0 {
		return expectFailed, len(msgs), msgs
	}
	return answered, 0, nil
}

// check returns "" if the reply satisfies e, else why not. The field is read
// from the last record that has it, so the final reply record wins over
// progress records.
func (e *Expect) check(r supervisor.Reply) string {
	var got string
	found := false
	for i := len(r.Records) - 1; i >= 0 && !found; i-- {
		got, found = r.Records[i].Fields[e.Field]
	}
	if !found {
		return fmt.Sprintf("no reply record has field %q", e.Field)
	}
	var ok bool
	switch e.Op {
	case "==":
		ok = got == e.Value
	case "contains":
		ok = strings.Contains(got, e.Value)
	case "matches":
		ok = e.re.MatchString(got)
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("%s is %s", e.Field, strconv.Quote(got))
}

// describe renders a reply for a person: who answered and every record.
func describe(r supervisor.Reply) string {
	var b strings.Builder
	fmt.Fprintf(&b, "task %d from %s (token %s, status %s)", r.ID, r.Instance, r.Token, r.Status)
	for _, rec := range r.Records {
		b.WriteString(" {")
		for i, k := range slices.Sorted(maps.Keys(rec.Fields)) {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s=%s", k, strconv.Quote(rec.Fields[k]))
		}
		b.WriteByte('}')
	}
	return b.String()
}

// merge adds a step's figures to the run's, and to host's when it names
// one.
func (r *runner) merge(t *tally, host string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum = r.sum.plus(t.sum)
	r.rtts.merge(&t.rtts)
	if host == "" {
		return
	}
	if r.hosts == nil {
		r.hosts = map[string]Summary{}
	}
	r.hosts[host] = r.hosts[host].plus(t.sum)
}

// plus adds the counts of o to s.
func (s Summary) plus(o Summary) Summary {
	s.Sent += o.Sent
	s.Answered += o.Answered
	s.TimedOut += o.TimedOut
	s.Failed += o.Failed
	s.ExpectFailures += o.ExpectFailures
	return s
}

func (st *SendStep) print(r *runner, t *tally, took time.Duration, who string) {
	s := t.sum
	if more := t.reported - maxReported; more > 0 {
		r.printf("%s: %s: %s... and %d more failures\n", st.Pos.String(), st.Text, who, more)
	}
	r.printf("%s: %s: %s%d sent, %d answered, %d timed out, %d failed, %d failed expectations in %s (%.0f tasks/s); rtt p50 %s p99 %s\n",
		st.Pos.String(), st.Text, who, s.Sent, s.Answered, s.TimedOut, s.Failed, s.ExpectFailures, RoundDuration(took),
		float64(s.Sent)/took.Seconds(), RoundDuration(t.rtts.percentile(50)), RoundDuration(t.rtts.percentile(99)))
}
