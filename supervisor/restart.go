package supervisor

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/plugvisor/plugvisor/registry"
)

// maxExits bounds the exit history kept per instance.
const maxExits = 20

func (in *instance) recordExit(e Exit) {
	in.mu.Lock()
	in.st.LastExit = e
	in.st.Exits = append(in.st.Exits, e)
	if len(in.st.Exits) > maxExits {
		in.st.Exits = in.st.Exits[len(in.st.Exits)-maxExits:]
	}
	in.mu.Unlock()
}

// afterExit applies the restart policy to an ended run.
func (in *instance) afterExit(reason string, failed bool) {
	p := in.config()
	in.setState(StateExited, reason)
	if in.permanent {
		in.permanent = false
		in.setState(StateFailed, "permanent: "+reason)
		return
	}
	if p.Restart == registry.RestartNever || (p.Restart == registry.RestartOnFailure && !failed) {
		return
	}
	in.scheduleRestart()
}

func (in *instance) scheduleRestart() {
	agent, policy := in.env.settings(), in.env.restart
	now := time.Now()
	if in.lastRun >= policy.healthyAfter {
		in.failures = 0
	}
	in.restarts = pruneBefore(in.restarts, now.Add(-agent.RestartWindow))
	if len(in.restarts) >= agent.RestartBurst {
		in.setState(StateFailed, fmt.Sprintf("restarted %d times within %s; start it again when fixed", len(in.restarts), agent.RestartWindow))
		return
	}
	in.restarts = append(in.restarts, now)
	delay := backoff(in.failures, policy.base, policy.max)
	in.failures++
	in.mu.Lock()
	in.st.Restarts++
	in.st.NextStart = now.Add(delay)
	in.mu.Unlock()
	in.setTimer(timerBackoff, delay)
	in.setState(StateBackoff, fmt.Sprintf("restart %d in %s", len(in.restarts), delay.Round(time.Millisecond)))
}

// backoff is the delay before restart number failures+1: base doubling up to
// max, with ±20% jitter so plugins that crashed together do not restart in
// lockstep.
func backoff(failures int, base, max time.Duration) time.Duration {
	d := max
	if failures < 30 {
		if b := base << failures; b > 0 && b < max {
			d = b
		}
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// pruneBefore drops times earlier than cutoff from a sorted slice.
func pruneBefore(ts []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(cutoff) {
		i++
	}
	return ts[i:]
}
