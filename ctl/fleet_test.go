package ctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/internal/natstest"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// A fleet ctl command line that cannot work is a usage error saying why,
// before anything is dialled.
func TestFleetUsageErrors(t *testing.T) {
	for args, want := range map[string]string{
		"status": "--nats URL is required",
		"--nats nats://127.0.0.1:1 --host a status":           "fleet ctl picks hosts with a SELECTOR",
		"--nats nats://127.0.0.1:1 send edge-1 echo 1 x":      `selector "edge-1": term 1 "edge-1": no '='`,
		"--nats nats://127.0.0.1:1 send role=edge echo x y":   `task id "x"`,
		"--nats nats://127.0.0.1:1 send * echo 1":             "send: want 4 arguments, got 3",
		"--nats nats://127.0.0.1:1 stop role=edge":            "stop: want 2 arguments",
		"--nats nats://127.0.0.1:1 launch":                    `unknown command "launch"`,
		"--nats nats://127.0.0.1:1 --discover 0s hosts":       "--discover must be positive",
		"--nats nats://127.0.0.1:1 status env=prod, extra":    "want 0 to 1 arguments",
		"--nats nats://127.0.0.1:1 status env=":               `term 1 "env=": empty value`,
		"--nats nats://127.0.0.1:1 events * -n -1":            "-n and --timeout must not be negative",
		"--nats nats://127.0.0.1:1 run a.pvs b.pvs":           "run: want 1 arguments",
		"--nats nats://127.0.0.1:1 send host=a echo 1 x -yes": "flag provided but not defined",
	} {
		var out, errOut bytes.Buffer
		code := FleetMain(context.Background(), strings.Fields(args), nil, &out, &errOut)
		if code != ExitUsage || !strings.Contains(errOut.String(), want) {
			t.Errorf("%s: exit %d, want %d and %q in:\n%s", args, code, ExitUsage, want, errOut.String())
		}
	}
}

// An empty selector (a variable not set) is a usage error, never every
// host: for a stop it would be every host's plugin.
func TestFleetEmptySelectorRefused(t *testing.T) {
	for _, verb := range [][]string{{"stop", "", "echo", "--yes"}, {"send", " ", "echo", "1", "x"}, {"status", ""}} {
		var out, errOut bytes.Buffer
		code := FleetMain(context.Background(), append([]string{"--nats", "nats://127.0.0.1:1"}, verb...), nil, &out, &errOut)
		if code != ExitUsage || !strings.Contains(errOut.String(), "the selector is empty: say * for every host") {
			t.Errorf("%q: exit %d, want %d:\n%s", verb, code, ExitUsage, errOut.String())
		}
	}
}

// The exit code of a fan-out: 0 when every host did it, ExitPartial when
// some did, else what went wrong everywhere.
func TestFanOutExitCodes(t *testing.T) {
	ok := hostResult{Outcome: hostAnswered}
	for _, c := range []struct {
		results []hostResult
		want    int
	}{
		{[]hostResult{ok, ok}, ExitOK},
		{[]hostResult{ok, {Outcome: hostNoResponders}}, ExitPartial},
		{[]hostResult{ok, {Outcome: hostErrorReply}}, ExitPartial},
		{[]hostResult{{Outcome: hostNoResponders}, {Outcome: hostNoResponders}}, ExitUnreachable},
		{[]hostResult{{Outcome: hostTimedOut}}, ExitTimeout},
		{[]hostResult{{Outcome: hostTimedOut}, {Outcome: hostNoResponders}}, ExitFailed},
		{[]hostResult{{Outcome: hostErrorReply}}, ExitFailed},
	} {
		var out bytes.Buffer
		r := &fleetRun{cmd: &fleetCommand{verbOptions: verbOptions{verb: "send"}}, out: &out, errOut: &out}
		if got := r.report(c.results, "echo"); got != c.want {
			t.Errorf("%v: exit %d, want %d", c.results, got, c.want)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err   error
		reply *supervisor.Reply
		want  hostOutcome
	}{
		{nil, &supervisor.Reply{Outcome: supervisor.OutcomeAnswered}, hostAnswered},
		{errors.New("x"), &supervisor.Reply{Outcome: supervisor.OutcomeError}, hostErrorReply},
		{fmt.Errorf("host a: %w", fleet.ErrNoResponders), &supervisor.Reply{Outcome: supervisor.OutcomeNotSent}, hostNoResponders},
		{context.DeadlineExceeded, &supervisor.Reply{Outcome: supervisor.OutcomeTimedOut}, hostTimedOut},
		{supervisor.ErrUnknownPlugin, &supervisor.Reply{Outcome: supervisor.OutcomeNotSent}, hostFailed},
		{nil, nil, hostAnswered},
		{fmt.Errorf("host a: %w", fleet.ErrNoResponders), nil, hostNoResponders},
	} {
		if got := classify(c.err, c.reply); got != c.want {
			t.Errorf("classify(%v, %+v) = %s, want %s", c.err, c.reply, got, c.want)
		}
	}
}

// A host that answers with no plugins is a fleet of one host and no
// instances, not "no host answers": status exits 0. A command over no
// host at all says so and exits 3, events without -f included, rather
// than wait for ever. (Discovery is given
// 3 s, so a loaded machine does not miss the host.)
func TestFleetCommandsWithoutHosts(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	eng := supervisortest.Start(t, "", supervisortest.Options{})
	stop, err := fleet.Serve(fleet.ServiceOptions{Conn: nc, API: eng.Sup, Subjects: fleet.Subjects{Prefix: "plugvisor", Host: "bare"}})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var out, errOut bytes.Buffer
	if code := FleetMain(context.Background(), []string{"--nats", srv.URL(), "--discover", "3s", "status"}, nil, &out, &errOut); code != ExitOK {
		t.Fatalf("status of a host without plugins: exit %d, want %d:\n%s%s", code, ExitOK, out.String(), errOut.String())
	}
	out.Reset()
	if code := FleetMain(context.Background(), []string{"--nats", srv.URL(), "status", "host=gone"}, nil, &out, &errOut); code != ExitUnreachable {
		t.Fatalf("status of a host nobody serves: exit %d, want %d:\n%s", code, ExitUnreachable, out.String())
	}
	// Events of no host are not waited for: the deadline only bounds the
	// wait of a command that would wait for ever.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if code := FleetMain(ctx, []string{"--nats", srv.URL(), "events", "env=none", "-n", "1"}, nil, &out, &errOut); code != ExitUnreachable || ctx.Err() != nil {
		t.Fatalf("events of a selector that picks no host: exit %d, want %d at once (%v):\n%s", code, ExitUnreachable, ctx.Err(), errOut.String())
	}
}
