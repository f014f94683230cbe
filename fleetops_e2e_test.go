package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/natstest"
	"github.com/plugvisor/plugvisor/internal/testutil"
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

// replyLines is the hosts of a fan-out's output that answered, by the
// line each printed.
func replyLines(out string) map[string]string {
	got := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
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
		out, code := fleetCtl(t, srv.URL(), "send", sel, "echo", "1", "hello fleet")
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

	hosts["edge-2"].stop(t)
	out, code := fleetCtl(t, srv.URL(), "send", "host=edge-1|edge-2|edge-3", "echo", "2", "after a host left")
	if code != 5 || len(replyLines(out)) != 2 || !regexp.MustCompile(`(?m)^edge-2\techo\tno_responders`).MatchString(out) ||
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
