package supervisor

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/plugvisor/plugvisor/internal/ratelimit"
	"github.com/plugvisor/plugvisor/registry"
)

// instanceEnv is what an instance uses but does not own: the engine's shared
// services and settings. The Supervisor builds one for all its instances, so
// an instance never reaches into the Supervisor and can be reasoned about
// (and tested) with nothing but this.
type instanceEnv struct {
	log      *slog.Logger
	bus      *bus
	verifier *registry.Verifier
	versions *registry.Versions
	launcher *launcher
	tokens   *Tokens
	beats    *heartbeats
	restart  restartPolicy
	// termGrace is SIGTERM → SIGKILL, and the bound on reaping a killed group.
	termGrace time.Duration
	closing   *atomic.Bool // the supervisor is shutting down
	// refusals limits how often refused registrations are logged, shared
	// with the plugin socket's: a process looping on second connections
	// must not flood the log either.
	refusals *ratelimit.Limiter
	// now is Options.Clock: what the keys' validity windows are checked
	// against at each start.
	now func() time.Time

	// agent is swapped by every configuration change; an instance loads it
	// each time it needs a setting, so a reload reaches running instances
	// without a command and without a lock shared with the Supervisor.
	agent atomic.Pointer[registry.Agent]
	// trust is the [trust] table applied last, swapped like agent: a
	// revocation reaches every start after the reload. nil: none.
	trust atomic.Pointer[registry.Trust]
}

// settings are the agent settings of the configuration applied last.
func (e *instanceEnv) settings() *registry.Agent { return e.agent.Load() }

// restartPolicy paces restarts; fixed for the life of a Supervisor.
type restartPolicy struct {
	base, max    time.Duration // first backoff delay, and its cap
	healthyAfter time.Duration // a run this long resets the backoff
}

// launcher starts plugin processes and keeps the watchdog's list of them in
// step: every process it starts, with its cgroup, is one the watchdog would
// kill if the supervisor died, until release.
type launcher struct {
	log      *slog.Logger
	kids     *children
	contain  *containment
	watchdog *watchdog // nil: no watchdog
	// sockets are the plugin sockets Run listens on, which a reload cannot
	// move, so plugins are always told one that is listening: the agent's
	// for plugins of the supervisor's own user, one per other user.
	sockets *userSockets
	// afterVerify runs between verification and exec (a test hook).
	afterVerify func(*registry.Plugin)
	// starting bounds the starts under way at once (see startBounded);
	// nil: unbounded.
	starting chan struct{}
	// watchSaid is set once the way exits are watched has been logged:
	// it is the kernel's, the same for every plugin.
	watchSaid atomic.Bool
}

// watchExit is watchExit for a plugin's first process, logging once how
// exits are watched here: a supervisor whose kernel lacks pidfds holds a
// thread per plugin, which an operator counting threads needs to know.
func (l *launcher) watchExit(pid int) <-chan struct{} {
	exited, how := watchExit(pid, false)
	if !l.watchSaid.Swap(true) {
		l.log.Info("plugin exits watched", "by", how.String())
	}
	return exited
}

// release tells the watchdog that p is gone: a later group with the same
// id is someone else's.
func (l *launcher) release(p *process) { l.watchdog.remove(p.pgid) }

// sweep reaps the zombies of plugins that the supervisor adopted.
func (l *launcher) sweep() { l.kids.sweep(l.adopted) }

// adopted says whether a zombie child was a plugin's: in a plugin's cgroup,
// or in the process group of a plugin's first process.
func (l *launcher) adopted(st procStat) bool {
	return l.contain.holds(st.pid) || st.pgrp != st.pid && l.kids.isStarted(st.pgrp)
}
