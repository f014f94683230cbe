package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/internal/natstest"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
)

// fleetCtl runs `plugvisor fleet ctl` against the server at url.
func fleetCtl(t *testing.T, url string, args ...string) (string, int) {
	t.Helper()
	all := append([]string{"fleet", "ctl", "--nats", url}, args...)
	out, err := exec.Command(testutil.Bin("plugvisor"), all...).CombinedOutput()
	return string(out), exitCode(err)
}

// startFleetHosts runs one real plugvisor host per name, each with the
// plugins given and the labels of labels(name), and waits until every one
// answers discovery.
func startFleetHosts(t *testing.T, url string, names []string, labels func(string) string, plugins string, running ...string) map[string]*fleetHost {
	t.Helper()
	hosts := map[string]*fleetHost{}
	for _, name := range names {
		hosts[name] = startFleetHost(t, url, name, labels(name), plugins)
	}
	for _, name := range names {
		for _, in := range running {
			hosts[name].stderr.waitFor(t, "instance="+in+" from=starting to=running")
		}
	}
	testutil.WaitUntil(t, "every host to answer discovery", 30*time.Second, func() bool {
		out, _ := fleetCtl(t, url, "hosts")
		for _, name := range names {
			if !regexp.MustCompile(`(?m)^` + name + `\s+live`).MatchString(out) {
				return false
			}
		}
		return true
	})
	return hosts
}

// discoverAll is the --discover of a fleet ctl call that must find every
// host by discovery (a selector by labels or a glob, or every host): long
// beside the default, so a loaded machine's late answer is not left out.
// A selector that names its hosts needs none: they are asked anyway.
const discoverAll = "2s"

// replyLines is the hosts of a fan-out's output that answered, by the
// line each printed.
func replyLines(out string) map[string]string {
	got := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[2] == "answered" {
			got[f[0]] = line
		}
	}
	return got
}

// `fleet ctl send` to a selector of three of five hosts (by label, then
// by name) gets three replies, each with its round trip, and exits 0;
// with one of the three stopped it is told as no responder, the other two
// still answer, and the exit code says partial failure.
func TestFleetCtlSendToSelector(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{JetStream: true})
	names := []string{"edge-1", "edge-2", "edge-3", "core-1", "core-2"}
	role := func(name string) string {
		return fmt.Sprintf("labels = { role = %q, env = \"test\" }\n", strings.Split(name, "-")[0])
	}
	hosts := startFleetHosts(t, srv.URL(), names, role, echoPlugin(t), "echo")

	for _, sel := range []string{"role=edge", "host=edge-1|edge-2|edge-3", "env=test,host=edge-*"} {
		out, code := fleetCtl(t, srv.URL(), "--discover", discoverAll, "send", sel, "echo", "1", "hello fleet")
		got := replyLines(out)
		if code != 0 || len(got) != 3 || !strings.Contains(out, "3 hosts: 3 answered, 0 error replies, 0 timed out, 0 no responders, 0 failed") {
			t.Fatalf("send to %s: exit %d, answered by %d hosts:\n%s", sel, code, len(got), out)
		}
		for _, h := range []string{"edge-1", "edge-2", "edge-3"} {
			if !regexp.MustCompile(`rtt \d`).MatchString(got[h]) || !strings.Contains(got[h], "hello fleet") {
				t.Fatalf("send to %s: %s's reply line %q lacks its RTT or content:\n%s", sel, h, got[h], out)
			}
		}
	}

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "edges.pvs"), "wait role=edge echo running\nsend role=edge echo 1 \"to every edge\" count 3\nexpect content == \"to every edge\"\n")
	out, code := fleetCtl(t, srv.URL(), "--discover", discoverAll, "run", filepath.Join(dir, "edges.pvs"))
	for _, want := range []string{"edge-1: 3 sent, 3 answered", "edge-3: 3 sent, 3 answered", "3 hosts: 9 sent, 9 answered",
		"per host: edge-1 3/3 answered, edge-2 3/3 answered, edge-3 3/3 answered: OK"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("script over role=edge: exit %d, want 0 and %q:\n%s", code, want, out)
		}
	}

	hosts["edge-2"].stop(t)
	writeFile(t, filepath.Join(dir, "named.pvs"), "send host=edge-1|edge-2|edge-3 echo 1 x count 2\n")
	out, code = fleetCtl(t, srv.URL(), "run", filepath.Join(dir, "named.pvs"))
	if code != 5 || !strings.Contains(out, "edge-2 0/2 answered (0 timed out, 2 failed, 0 failed expectations)") {
		t.Fatalf("script with edge-2 stopped: exit %d, want 5 (partial):\n%s", code, out)
	}
	out, code = fleetCtl(t, srv.URL(), "send", "host=edge-1|edge-2|edge-3", "echo", "2", "after a host left")
	if code != 5 || len(replyLines(out)) != 2 || !regexp.MustCompile(`(?m)^edge-2\s+echo\s+no_responders`).MatchString(out) ||
		!strings.Contains(out, "3 hosts: 2 answered, 0 error replies, 0 timed out, 1 no responders, 0 failed") {
		t.Fatalf("send with edge-2 stopped: exit %d, want 5 (partial) with edge-2 a no responder:\n%s", code, out)
	}
	out, code = fleetCtl(t, srv.URL(), "send", "host=edge-2", "echo", "3", "to nobody")
	if code != 3 {
		t.Fatalf("send to the stopped host alone: exit %d, want 3\n%s", code, out)
	}
	for _, name := range names {
		if name != "edge-2" {
			hosts[name].stop(t)
		}
	}
}

// The fleet API over three real hosts: every host's instances, qualified
// and with their labels; a task routed by the host in its name; an
// unqualified name refused with the form it wants; and a host whose
// plugvisor stops is marked unreachable, its rows kept with their last-
// seen time, while the others stay live.
func TestFleetAPIMarksAStoppedHostUnreachable(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{JetStream: true})
	names := []string{"edge-1", "edge-2", "edge-3"}
	hosts := startFleetHosts(t, srv.URL(), names, func(string) string { return "labels = { env = \"test\" }\n" }, echoPlugin(t), "echo")
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const every, after = 200 * time.Millisecond, time.Second
	fl, err := fleet.StartFleet(ctx, fleet.FleetOptions{Conn: nc, DiscoverEvery: every, DiscoverWait: 100 * time.Millisecond, UnreachableAfter: after})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()

	rows := func() map[string]supervisor.PluginStatus {
		snap, err := fl.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]supervisor.PluginStatus{}
		for _, r := range snap {
			m[r.Instance] = r
		}
		return m
	}
	testutil.WaitUntil(t, "every host's echo in the fleet's snapshot", 30*time.Second, func() bool {
		m := rows()
		for _, h := range names {
			if r, ok := m[h+"/echo"]; !ok || r.Host != h || r.Name != h+"/echo" || r.HostLabels["env"] != "test" || r.HostUnreachable {
				return false
			}
		}
		return true
	})
	r, err := fl.SendTask(ctx, supervisor.TaskRequest{Plugin: "edge-2/echo", ID: 1, Content: "to edge-2"})
	if err != nil || r.Outcome != supervisor.OutcomeAnswered || r.Instance != "edge-2/echo" || !strings.Contains(fmt.Sprint(r.Records), "to edge-2") {
		t.Fatalf("task to edge-2/echo: %+v, %v", r, err)
	}
	if _, err := fl.SendTask(ctx, supervisor.TaskRequest{Plugin: "echo", ID: 1}); !errors.Is(err, fleet.ErrUnqualified) || !strings.Contains(err.Error(), "HOST/NAME") {
		t.Fatalf("an unqualified name: %v", err)
	}

	hosts["edge-2"].stop(t)
	// Taken once the host has exited: while it stops, it may still answer
	// a discovery round.
	stopped := time.Now()
	// Discovery alone (no call finding no responders) marks it.
	testutil.WaitUntil(t, "edge-2 unreachable by discovery", 30*time.Second, func() bool {
		for _, h := range fl.Hosts() {
			if h.Name == "edge-2" {
				return h.Unreachable
			}
		}
		return false
	})
	t.Logf("edge-2 unreachable %v after its stop (documented: within UnreachableAfter %v + a round %v)", time.Since(stopped), after, every)
	m := rows()
	gone := m["edge-2/echo"]
	if !gone.HostUnreachable || gone.HostLastSeen.IsZero() || gone.HostLastSeen.After(stopped) || gone.State != supervisor.StateRunning {
		t.Fatalf("edge-2's row after its stop: unreachable %v, last seen %v (stopped %v), state %s", gone.HostUnreachable, gone.HostLastSeen, stopped, gone.State)
	}
	for _, h := range []string{"edge-1", "edge-3"} {
		if r := m[h+"/echo"]; r.HostUnreachable || r.State != supervisor.StateRunning {
			t.Fatalf("%s after edge-2 stopped: unreachable %v, state %s", h, r.HostUnreachable, r.State)
		}
	}
	hosts["edge-1"].stop(t)
	hosts["edge-3"].stop(t)
}

// `plugvisor fleet --demo --no-tui` on a fresh machine: a NATS server and
// three hosts start, the records of all three arrive merged on stdout,
// and SIGINT (ctrl+c) stops everything, exits 0 and leaves no process and
// no directory behind; so does SIGHUP, the terminal closing.
func TestFleetDemoHeadless(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			tmp, home := shortTemp(t, "pv-fd-")
			cmd := exec.Command(testutil.Bin("plugvisor"), "fleet", "--demo", "--no-tui")
			cmd.Env = demoEnv(home, tmp)
			stdout, stderr := &lines{}, &lines{}
			cmd.Stdout, cmd.Stderr = stdout, stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			stderr.waitFor(t, "fleet demo: NATS server and hosts started")
			for _, h := range []string{"edge-1", "core-1", "edge-2"} {
				stdout.waitFor(t, `"instance":"`+h+`/ticker"`)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit after %v: %v\n%s", sig, err, stderr.text())
			}
			waitNoLeftovers(t, cmd.Process.Pid, tmp)
			if left, _ := filepath.Glob(filepath.Join(tmp, "pv-fleet-demo-*")); len(left) > 0 {
				t.Fatalf("demo dir not removed: %v", left)
			}
		})
	}
}

// onHost matches a screen line naming instance on host, however the
// console draws the host: qualified (edge-2/echo) or in a column of its
// own (edge-2 … echo).
func onHost(host, instance string) *regexp.Regexp {
	return regexp.MustCompile(regexp.QuoteMeta(host) + `(/|\s.*\s)` + regexp.QuoteMeta(instance) + `\b`)
}

// The fleet console over three real hosts, in a real pseudo-terminal:
// every host's plugins are listed, and a task sent from the console to
// the echo of host 2 is answered, with its round trip on the screen.
func TestFleetConsoleEndToEnd(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{JetStream: true})
	names := []string{"edge-1", "edge-2", "edge-3"}
	hosts := startFleetHosts(t, srv.URL(), names, func(string) string { return "" }, echoPlugin(t), "echo")
	tmp, home := shortTemp(t, "pvf")
	cmd := exec.Command(testutil.Bin("plugvisor"), "fleet", "--nats", srv.URL())
	cmd.Env = demoEnv(home, tmp)
	term := startInPty(t, cmd, 140, 40)
	term.waitScreen(t, "every host's echo listed", func(s string) bool {
		for _, h := range names {
			if !onHost(h, "echo").MatchString(s) {
				return false
			}
		}
		return true
	})
	selected := func(s string) string { return lineWith(s, "1 Logs") }
	term.send(t, "g")
	for i := 0; !onHost("edge-2", "echo").MatchString(selected(term.screen())); i++ {
		if i == 10 {
			t.Fatalf("edge-2's echo never selected; last screen:\n%s", term.screen())
		}
		before := selected(term.screen())
		term.send(t, "j")
		term.waitScreen(t, "the selection to move", func(s string) bool { return selected(s) != before })
	}
	term.send(t, "t")
	term.waitScreen(t, "the task form for edge-2's echo", func(s string) bool { return onHost("edge-2", "echo").MatchString(lineWith(s, "Send a task to")) })
	term.send(t, "hi host two")
	term.waitFor(t, "hi host two")
	term.send(t, "\r")
	answered := regexp.MustCompile(`edge-2\S*\s.*answered task 1 in \d+(\.\d+)?(µs|ms|s)`)
	term.waitScreen(t, "edge-2's answer with its round trip", func(s string) bool {
		return answered.MatchString(s) && strings.Contains(s, "content=hi host two")
	})
	if n := value(hosts["edge-1"].scrape(t), "plugvisor_plugin_tasks_sent_total", "instance", "echo"); n != 0 {
		t.Fatalf("edge-1's echo was sent %v tasks", n)
	}
	term.send(t, "q")
	if err := term.wait(30 * time.Second); err != nil {
		t.Fatalf("the fleet console did not exit: %v\nlast screen:\n%s", err, term.screen())
	}
	for _, h := range names {
		hosts[h].stop(t)
	}
}

// `fleet ctl status` shows every host's instances with a HOST column, or
// JSON lines each with its host; `stop SELECTOR NAME` asks first, refuses
// to act without a terminal unless told --yes, then stops the plugin on
// every host picked and only there.
func TestFleetCtlStatusAndStop(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{JetStream: true})
	names := []string{"edge-1", "edge-2"}
	hosts := startFleetHosts(t, srv.URL(), names, func(string) string { return "" }, echoPlugin(t)+tickerPlugin(t, "1s"), "echo", "ticker")
	out, code := fleetCtl(t, srv.URL(), "--discover", discoverAll, "status")
	for _, h := range names {
		if code != 0 || !regexp.MustCompile(`(?m)^`+h+`\s+echo\s+echo\s+running`).MatchString(out) {
			t.Fatalf("status: exit %d, no running echo row for %s:\n%s", code, h, out)
		}
	}
	out, code = fleetCtl(t, srv.URL(), "status", "host=edge-2", "--json")
	var rows []supervisor.PluginStatus
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var p supervisor.PluginStatus
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("status --json line %q: %v", line, err)
		}
		rows = append(rows, p)
	}
	if code != 0 || len(rows) != 2 || rows[0].Host != "edge-2" || rows[1].Host != "edge-2" || !strings.Contains(out, `"host":"edge-2"`) {
		t.Fatalf("status host=edge-2 --json: exit %d:\n%s", code, out)
	}

	out, code = fleetCtl(t, srv.URL(), "stop", "*", "ticker")
	if code != 2 || !strings.Contains(out, "say --yes") {
		t.Fatalf("stop without a terminal nor --yes: exit %d, want 2:\n%s", code, out)
	}
	out, code = fleetCtl(t, srv.URL(), "stop", "host=edge-1", "ticker", "--yes")
	if code != 0 || !strings.Contains(out, "1 hosts: 1 answered") {
		t.Fatalf("stop ticker on edge-1: exit %d:\n%s", code, out)
	}
	hosts["edge-1"].stderr.waitFor(t, "instance=ticker from=stopping to=stopped")
	out, _ = fleetCtl(t, srv.URL(), "--discover", discoverAll, "status")
	if !regexp.MustCompile(`(?m)^edge-1\s+ticker\s+ticker\s+stopped`).MatchString(out) || !regexp.MustCompile(`(?m)^edge-2\s+ticker\s+ticker\s+running`).MatchString(out) {
		t.Fatalf("after stopping edge-1's ticker:\n%s", out)
	}
	for _, h := range names {
		hosts[h].stop(t)
	}
}
