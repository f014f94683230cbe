package script

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// Summary is what a run did. OK means every task was answered, none failed
// and every expectation held.
type Summary struct {
	Sent           int
	Answered       int
	TimedOut       int
	Failed         int // no reply (not running, gone, …), or an error reply where nothing else was expected
	ExpectFailures int
	P50, P99       time.Duration // caller-side round trips of answered tasks
	OK             bool
	// Hosts has the counts of each host that steps with a selector sent
	// to (their round trips are in P50 and P99 only); nil without.
	Hosts map[string]Summary
}

func (s Summary) String() string {
	verdict := "OK"
	if !s.OK {
		verdict = "FAILED"
	}
	return fmt.Sprintf("%d sent, %d answered, %d timed out, %d failed, %d failed expectations; rtt p50 %s p99 %s%s: %s",
		s.Sent, s.Answered, s.TimedOut, s.Failed, s.ExpectFailures, RoundDuration(s.P50), RoundDuration(s.P99), s.perHost(), verdict)
}

// perHost is the hosts' counts, each host's answered of sent and what
// went wrong there.
func (s Summary) perHost() string {
	if len(s.Hosts) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("; per host:")
	for i, h := range slices.Sorted(maps.Keys(s.Hosts)) {
		hs := s.Hosts[h]
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s %d/%d answered", h, hs.Answered, hs.Sent)
		if bad := hs.TimedOut + hs.Failed + hs.ExpectFailures; bad > 0 {
			fmt.Fprintf(&b, " (%d timed out, %d failed, %d failed expectations)", hs.TimedOut, hs.Failed, hs.ExpectFailures)
		}
	}
	return b.String()
}

// runner is one run's state, shared by its steps.
type runner struct {
	api supervisor.API
	out io.Writer

	mu    sync.Mutex // guards what follows and out
	sum   Summary
	rtts  samples            // every step's, for the summary
	hosts map[string]Summary // per host, for steps with a selector
}

// pollInterval paces wait's look at the snapshot.
const pollInterval = 20 * time.Millisecond

// maxReported bounds the failures a send step prints one by one.
const maxReported = 5

// Run executes the steps in order, printing each step's outcome and then the
// summary to out. A step that cannot go on (a wait that times out, a start
// that fails, ctx ending) stops the run with an error naming its line; a
// failed task or expectation is counted and the run goes on.
func (s *Script) Run(ctx context.Context, api supervisor.API, out io.Writer) (Summary, error) {
	r := &runner{api: api, out: out}
	var err error
	for _, st := range s.Steps {
		if err = st.run(ctx, r); err != nil {
			err = fmt.Errorf("%s: %s: %w", st.Where(), st.Where().Text, err)
			r.printf("%v\n", err)
			break
		}
	}
	sum := r.summary(err == nil)
	r.printf("summary: %s\n", sum)
	return sum, err
}

func (r *runner) summary(completed bool) Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sum
	s.P50, s.P99 = r.rtts.percentile(50), r.rtts.percentile(99)
	s.Hosts = maps.Clone(r.hosts)
	s.OK = completed && s.TimedOut == 0 && s.Failed == 0 && s.ExpectFailures == 0 && s.Sent == s.Answered
	return s
}

func (r *runner) printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.out, format, args...)
}

func (st *SleepStep) run(ctx context.Context, r *runner) error {
	if err := sleep(ctx, st.Duration); err != nil {
		return err
	}
	r.printf("%s: %s: ok\n", st.Pos.String(), st.Text)
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (st *ControlStep) run(ctx context.Context, r *runner) error {
	start := time.Now()
	var err error
	switch st.Verb {
	case "start":
		err = r.api.Start(ctx, st.Name)
	case "stop":
		err = r.api.Stop(ctx, st.Name)
	case "restart":
		err = r.api.Restart(ctx, st.Name)
	case "reload":
		err = r.api.Reload(ctx)
	}
	if err != nil {
		return err
	}
	r.printf("%s: %s: ok in %s\n", st.Pos.String(), st.Text, RoundDuration(time.Since(start)))
	return nil
}

func (st *PingStep) run(ctx context.Context, r *runner) error {
	ctx, cancel := context.WithTimeout(ctx, st.Timeout)
	defer cancel()
	rtt, err := r.api.Ping(ctx, st.Name)
	if err != nil {
		return err
	}
	r.printf("%s: %s: rtt %s\n", st.Pos.String(), st.Text, RoundDuration(rtt))
	return nil
}

func (st *WaitStep) run(ctx context.Context, r *runner) error {
	start := time.Now()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, st.Timeout)
	defer cancel()
	targets, err := r.targets(ctx, st.Hosts, st.Name)
	if err != nil {
		return err
	}
	seen := "no snapshot yet"
	for {
		snap, err := r.api.Snapshot(ctx)
		switch {
		case err == nil:
			if seen = st.checkAll(snap, targets); seen == "" {
				r.printf("%s: %s: ok in %s\n", st.Pos.String(), st.Text, RoundDuration(time.Since(start)))
				return nil
			}
		case ctx.Err() == nil:
			// The API failed (the connection is lost, say): polling on
			// would only see the same until the timeout, so stop now.
			return fmt.Errorf("snapshot: %w", err)
		}
		if err := sleep(ctx, pollInterval); err != nil {
			if perr := parent.Err(); perr != nil {
				return perr
			}
			return fmt.Errorf("not %s within %s: %s", st.State, st.Timeout, seen)
		}
	}
}

// checkAll returns "" when every instance of every target is in the
// state, else what was seen instead.
func (st *WaitStep) checkAll(snap []supervisor.PluginStatus, targets []target) string {
	var seen []string
	for _, tg := range targets {
		if s := st.check(snap, tg.name); s != "" {
			seen = append(seen, s)
		}
	}
	return strings.Join(seen, "; ")
}

// check returns "" when every instance called name is in the state, else
// what was seen instead.
func (st *WaitStep) check(snap []supervisor.PluginStatus, name string) string {
	var seen []string
	matched := false
	for _, p := range snap {
		if p.Name != name && p.Instance != name {
			continue
		}
		matched = true
		if p.HostUnreachable { // its state is as last seen, not as it is
			seen = append(seen, fmt.Sprintf("%s: its host %s is unreachable", p.Instance, p.Host))
			continue
		}
		if p.State != st.State {
			seen = append(seen, fmt.Sprintf("%s is %s (%s)", p.Instance, p.State, p.Reason))
		}
	}
	switch {
	case !matched:
		return fmt.Sprintf("no plugin or instance %q", name)
	case len(seen) > 0:
		return fmt.Sprint(seen)
	}
	return ""
}

// RoundDuration keeps a duration readable for people: whole microseconds
// below a millisecond, tens of microseconds below a second, milliseconds
// above. ctl prints round trips the same way.
func RoundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
