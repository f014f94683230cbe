package ctl

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/plugvisor/plugvisor/control"
	"github.com/plugvisor/plugvisor/script"
	"github.com/plugvisor/plugvisor/supervisor"
)

// dispatch runs the verb against a connected client.
func (r *run) dispatch(c remote) error {
	ctx, name := r.ctx, ""
	if len(r.cmd.args) > 0 {
		name = r.cmd.args[0]
	}
	switch r.cmd.verb {
	case "status":
		return r.status(c)
	case "info":
		return r.info(c)
	case "start":
		return r.done(c.Start(ctx, name), "started "+name)
	case "stop":
		return r.done(c.Stop(ctx, name), "stopped "+name)
	case "restart":
		return r.done(c.Restart(ctx, name), "restarted "+name)
	case "reload":
		return r.done(c.Reload(ctx), "reloaded")
	case "send":
		return r.send(c)
	case "ping":
		return r.ping(c, name)
	case "logs":
		return r.logs(c, name)
	case "events":
		return r.events(c, name)
	case "history":
		return r.history(c, name)
	case "run":
		return r.script(c)
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, r.cmd.verb)
}

func (r *run) done(err error, what string) error {
	if err == nil {
		fmt.Fprintln(r.out, what)
	}
	return err
}

func (r *run) status(c remote) error {
	snap, err := c.Snapshot(r.ctx)
	if err != nil {
		return err
	}
	if r.cmd.json {
		if snap == nil {
			snap = []supervisor.PluginStatus{}
		}
		return r.writeJSON(snap)
	}
	return statusTable(r.out, snap, time.Now())
}

func (r *run) info(c remote) error {
	info, err := c.Info(r.ctx)
	if err != nil {
		return err
	}
	if r.cmd.json {
		return r.writeJSON(info)
	}
	return infoTable(r.out, info, time.Now())
}

func (r *run) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(r.out, "%s\n", b)
	return err
}

// withTimeout applies --timeout to ctx.
func (r *run) withTimeout() (context.Context, context.CancelFunc) {
	if r.cmd.timeout > 0 {
		return context.WithTimeout(r.ctx, r.cmd.timeout)
	}
	return context.WithCancel(r.ctx)
}

func (r *run) send(c remote) error {
	name, content := r.cmd.args[0], r.cmd.args[2]
	id, err := strconv.ParseUint(r.cmd.args[1], 10, 32)
	if err != nil {
		return fmt.Errorf("%w: task id %q: want a number from 0 to %d", errUsage, r.cmd.args[1], uint32(math.MaxUint32))
	}
	ctx, cancel := r.withTimeout()
	defer cancel()
	// ctl chooses the token, so that it can name the task whatever becomes
	// of it, a reply cut off by --timeout included.
	token := supervisor.NewTokens("ctl").Next()
	reply, err := c.SendTask(ctx, supervisor.TaskRequest{Plugin: name, ID: uint32(id), Content: content, Token: token})
	reply.Token, reply.Instance = token, cmp.Or(reply.Instance, name)
	if err != nil && !reply.Outcome.Final() || reply.Outcome == supervisor.OutcomeNotSent {
		return r.explainTimeout(err, "no reply from "+name)
	}
	if r.cmd.json {
		if werr := r.writeJSON(reply); werr != nil {
			return werr
		}
	} else {
		for _, rec := range reply.Records {
			fmt.Fprintln(r.out, recordLine(rec))
		}
	}
	switch reply.Outcome {
	case supervisor.OutcomeAnswered:
		return nil
	case supervisor.OutcomeError:
		return fmt.Errorf("task %d on %s replied %s: %s", reply.ID, reply.Instance, printable(reply.Status), printable(reply.Error))
	}
	return fmt.Errorf("task %d (token %s) on %s: %s: %w", reply.ID, printable(reply.Token), reply.Instance, reply.Outcome, r.explainTimeout(err, "no reply"))
}

// explainTimeout says which deadline passed when it was --timeout.
func (r *run) explainTimeout(err error, what string) error {
	if r.cmd.timeout > 0 && errors.Is(err, context.DeadlineExceeded) && r.ctx.Err() == nil {
		return fmt.Errorf("%s within --timeout %s: %w", what, r.cmd.timeout, err)
	}
	return err
}

func (r *run) ping(c remote, name string) error {
	ctx, cancel := r.withTimeout()
	defer cancel()
	rtt, err := c.Ping(ctx, name)
	if err != nil {
		return r.explainTimeout(err, "no pong from "+name)
	}
	if r.cmd.json {
		return r.writeJSON(struct {
			Name string        `json:"name"`
			RTT  time.Duration `json:"rtt"`
		}{name, rtt})
	}
	fmt.Fprintf(r.out, "%s: %s\n", name, script.RoundDuration(rtt))
	return nil
}

// logs prints the last lines, then with -f follows new ones. It subscribes
// before asking for the history so that no line falls between the two; a
// line in both is printed once.
func (r *run) logs(c remote, name string) error {
	var events <-chan supervisor.Event
	if r.cmd.follow {
		var cancel func()
		var err error
		if events, cancel, err = c.Subscribe(r.ctx, control.DefaultEventBuffer); err != nil {
			return err
		}
		defer cancel()
	}
	lines, err := c.Logs(r.ctx, name, r.cmd.n)
	if err != nil {
		return err
	}
	var last time.Time
	for _, l := range lines {
		r.logLine(l)
		last = l.Time
	}
	if !r.cmd.follow {
		return nil
	}
	return r.follow(c, events, func(ev supervisor.Event) bool {
		if ev.Type != supervisor.EventLog || !matches(ev, name) || !ev.Log.Time.After(last) {
			return true
		}
		r.logLine(ev.Log)
		return true
	})
}

func (r *run) logLine(l supervisor.LogLine) {
	if r.cmd.json {
		_ = r.writeJSON(l)
		return
	}
	fmt.Fprintf(r.out, "%s %s %s %s\n", l.Time.Format(timeLayout), printable(l.Instance), printable(string(l.Stream)), printable(l.Text))
}

// events prints events about name (all when empty): the next -n, or with -f
// every one until interrupted.
func (r *run) events(c remote, name string) error {
	events, cancel, err := c.Subscribe(r.ctx, control.DefaultEventBuffer)
	if err != nil {
		return err
	}
	defer cancel()
	n := 0
	return r.follow(c, events, func(ev supervisor.Event) bool {
		if name != "" && ev.Type != supervisor.EventDropped && !matches(ev, name) {
			return true
		}
		if r.cmd.json {
			_ = r.writeJSON(ev)
		} else {
			fmt.Fprintln(r.out, eventLine(ev))
		}
		n++
		return r.cmd.follow || n < r.cmd.n
	})
}

// follow feeds events to fn until fn returns false, ctx ends (a normal end)
// or the connection is lost.
func (r *run) follow(c remote, events <-chan supervisor.Event, fn func(supervisor.Event) bool) error {
	for {
		select {
		case <-r.ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				if err := c.Err(); err != nil {
					return err
				}
				return errors.New("the server ended the subscription")
			}
			if !fn(ev) {
				return nil
			}
		}
	}
}

func matches(ev supervisor.Event, name string) bool { return ev.Plugin == name || ev.Instance == name }

// checkScript parses the script before connecting, so a malformed one is a
// usage error whatever the state of the socket.
func (r *run) checkScript() int {
	if _, err := r.parseScript(); err != nil {
		fmt.Fprintf(r.errOut, "plugvisor ctl run: %v\n", err)
		return ExitUsage
	}
	return ExitOK
}

func (r *run) parseScript() (*script.Script, error) {
	f, err := os.Open(r.cmd.args[0])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return script.Parse(r.cmd.args[0], f)
}

func (r *run) script(c remote) error {
	s, err := r.parseScript()
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	sum, err := s.Run(r.ctx, c, r.out)
	switch cerr := c.Err(); {
	case cerr != nil:
		return cerr
	case err != nil:
		// %v, not %w: whatever stopped the script, the script failed.
		return fmt.Errorf("%w: %v", errScriptFailed, err)
	case !sum.OK:
		return fmt.Errorf("%w: %s", errScriptFailed, sum)
	}
	return nil
}
