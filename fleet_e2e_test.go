package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/internal/natstest"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
)

// fleetHost is one real plugvisor process on the fleet, headless.
type fleetHost struct {
	name    string
	cmd     *exec.Cmd
	stderr  *lines
	metrics string // its /metrics URL
	ctl     string // its control socket
}

// startFleetHost runs plugvisor as host name against the server at url,
// with fleetTOML added to its [fleet] table and plugins as its plugins.
func startFleetHost(t testing.TB, url, name, fleetTOML, plugins string) *fleetHost {
	t.Helper()
	dir, home := shortTemp(t, "pv-fleet-")
	work := filepath.Join(dir, "w")
	cfg := filepath.Join(dir, "config.toml")
	writeFile(t, cfg, fmt.Sprintf(`[agent]
work_dir = %q
metrics_listen = "127.0.0.1:0"
[fleet]
servers = [%q]
host = %q
%s
%s`, work, url, name, fleetTOML, plugins))
	cmd, _, stderr := startHeadless(t, demoEnv(home, dir), "--config", cfg)
	h := &fleetHost{name: name, cmd: cmd, stderr: stderr, ctl: filepath.Join(work, "plugvisor.ctl.sock")}
	stderr.waitFor(t, "metrics served")
	m := regexp.MustCompile(`url=(http://\S+/metrics)`).FindStringSubmatch(stderr.text())
	if m == nil {
		t.Fatalf("host %s: no metrics URL in:\n%s", name, stderr.text())
	}
	h.metrics = m[1]
	return h
}

// tickerPlugin is a ticker emitting every interval, run from the plugvisor
// binary itself.
func tickerPlugin(t testing.TB, interval string) string {
	self := testutil.Bin("plugvisor")
	return fmt.Sprintf(`[plugins.ticker]
exec = %q
args = ["plugin", "ticker", "--interval", %q]
sha256 = %q
restart = "never"
`, self, interval, sha(t, self))
}

// stop ends the host with SIGTERM, as an operator's service manager does.
func (h *fleetHost) stop(t *testing.T) {
	t.Helper()
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("host %s exit: %v\n%s", h.name, err, h.stderr.text())
	}
}

// scrape reads the host's /metrics with the Prometheus text parser.
func (h *fleetHost) scrape(t testing.TB) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(h.metrics)
	if err != nil {
		t.Fatalf("scrape %s: %v", h.metrics, err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", h.metrics, err)
	}
	return families
}

// value is the sample of family name whose labels include want, or -1.
func value(families map[string]*dto.MetricFamily, name string, want ...string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(want); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == want[i] && l.GetValue() == want[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	return -1
}

// streamRecord is one record as the stream holds it.
type streamRecord struct {
	subject, instance, msgID string
	seq                      int
}

// readStream reads every record of host from the stream, in stream order;
// url may carry a login.
func readStream(t *testing.T, url, host string) []streamRecord {
	t.Helper()
	// As an operator's tool: the replies on the operator's own inbox.
	op, err := fleet.ConnectOperator(fleet.OperatorOptions{URL: url, Name: "readStream"})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	js, err := jetstream.New(op.Conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	filter := fleet.Subjects{Prefix: "plugvisor", Host: host}.AllRecords()
	s, err := js.Stream(ctx, "PLUGVISOR_RECORDS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, n := range info.State.Subjects {
		total += n
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		t.Fatal(err)
	}
	var out []streamRecord
	for uint64(len(out)) < total {
		// As many as are left: a fetch of more would wait out its MaxWait.
		batch, err := c.Fetch(int(min(1000, total-uint64(len(out)))), jetstream.FetchMaxWait(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			var fields map[string]string
			if err := json.Unmarshal(m.Data(), &fields); err != nil {
				t.Fatalf("record body %q: %v", m.Data(), err)
			}
			seq, _ := strconv.Atoi(fields["seq"])
			out = append(out, streamRecord{subject: m.Subject(), instance: m.Headers().Get(fleet.HeaderInstance),
				msgID: m.Headers().Get(nats.MsgIdHdr), seq: seq})
		}
		if err := batch.Error(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// checkOnceInOrder fails unless every record has its subject and headers
// and the ticker's seq only grows: none twice, none out of order.
func checkOnceInOrder(t *testing.T, host string, recs []streamRecord) {
	t.Helper()
	ids := map[string]bool{}
	last := 0
	for i, r := range recs {
		if r.subject != "plugvisor.rec."+host+".ticker.tick" || r.instance != "ticker" || r.msgID == "" {
			t.Fatalf("host %s record %d: subject %q instance %q id %q", host, i, r.subject, r.instance, r.msgID)
		}
		if ids[r.msgID] || r.seq <= last {
			t.Fatalf("host %s record %d: seq %d after %d, id %q seen before: %v", host, i, r.seq, last, r.msgID, ids[r.msgID])
		}
		ids[r.msgID], last = true, r.seq
	}
}

// Three real plugvisor processes stream into one JetStream: each host's
// records land under its own subject, with its headers, each once and in
// the order emitted, and every record the engine took is in the stream.
func TestFleetRecordsFromEveryHost(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{JetStream: true})
	var hosts []*fleetHost
	for _, name := range []string{"edge-1", "edge-2", "edge-3"} {
		hosts = append(hosts, startFleetHost(t, srv.URL(), name, "", tickerPlugin(t, "2ms")))
	}
	for _, h := range hosts {
		h.stderr.waitFor(t, "instance=ticker from=starting to=running")
	}
	for _, h := range hosts {
		testutil.WaitUntil(t, h.name+" publishing", 30*time.Second, func() bool {
			return value(h.scrape(t), "plugvisor_fleet_records_acked_total") >= 200
		})
		h.stop(t) // drains: what the engine took is acknowledged before exit
	}
	for _, h := range hosts {
		recs := readStream(t, srv.URL(), h.name)
		checkOnceInOrder(t, h.name, recs)
		if len(recs) < 200 || recs[0].seq != 1 {
			t.Fatalf("host %s: %d records in the stream, the first seq %d", h.name, len(recs), recs[0].seq)
		}
	}
}

// The server stops for 10 s while a plugin emits 500 records a second into
// a 64 KiB spool, then comes back: what the spool held arrives in order
// after what came before, what did not fit is counted as dropped, nothing
// is stored twice, and stored + dropped is every record the engine took.
func TestFleetOutageSpoolsDropsAndResumes(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{JetStream: true})
	h := startFleetHost(t, srv.URL(), "edge-1", "spool_memory = \"64KiB\"\n", tickerPlugin(t, "2ms"))
	h.stderr.waitFor(t, "instance=ticker from=starting to=running")
	testutil.WaitUntil(t, "records acknowledged before the outage", 30*time.Second, func() bool {
		return value(h.scrape(t), "plugvisor_fleet_records_acked_total") >= 100
	})
	srv.Stop()
	outage := time.After(10 * time.Second)
	testutil.WaitUntil(t, "the link to see the outage and the spool to overflow", 60*time.Second, func() bool {
		m := h.scrape(t)
		return value(m, "plugvisor_fleet_connected") == 0 && value(m, "plugvisor_fleet_records_dropped_total") > 0
	})
	<-outage
	srv.Restart()
	testutil.WaitUntil(t, "records acknowledged after the outage", 60*time.Second, func() bool {
		m := h.scrape(t)
		return value(m, "plugvisor_fleet_connected") == 1 && value(m, "plugvisor_fleet_spool_records") == 0
	})
	if out, err := exec.Command(testutil.Bin("plugvisor"), "ctl", "--socket", h.ctl, "stop", "ticker").CombinedOutput(); err != nil {
		t.Fatalf("ctl stop ticker: %v\n%s", err, out)
	}
	var emitted, dropped float64
	testutil.WaitUntil(t, "every record the engine took stored or counted", 60*time.Second, func() bool {
		m := h.scrape(t)
		emitted = value(m, "plugvisor_plugin_records_total", "instance", "ticker")
		dropped = value(m, "plugvisor_fleet_records_dropped_total")
		return value(m, "plugvisor_fleet_spool_records") == 0 && value(m, "plugvisor_fleet_records_acked_total")+dropped >= emitted
	})
	recs := readStream(t, srv.URL(), "edge-1")
	checkOnceInOrder(t, "edge-1", recs)
	if got := float64(len(recs)) + dropped; got != emitted {
		t.Fatalf("stream %d + dropped %.0f = %.0f; the engine took %.0f", len(recs), dropped, got, emitted)
	}
	t.Logf("emitted %.0f, stored %d, dropped %.0f", emitted, len(recs), dropped)
	h.stop(t)
}

// A task sent over NATS to host B's echo comes back with its reply and
// round trip, and host A is not asked.
func TestFleetTaskToOneHost(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{JetStream: true})
	a := startFleetHost(t, srv.URL(), "host-a", "", echoPlugin(t))
	b := startFleetHost(t, srv.URL(), "host-b", "", echoPlugin(t))
	for _, h := range []*fleetHost{a, b} {
		h.stderr.waitFor(t, "instance=echo from=starting to=running")
	}
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	client := fleet.NewClient(fleet.ClientOptions{Conn: nc, Subjects: fleet.Subjects{Prefix: "plugvisor", Host: "host-b"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	testutil.WaitUntil(t, "host-b's API on NATS", 30*time.Second, func() bool {
		_, err = client.Info(ctx)
		return err == nil
	})
	r, err := client.SendTask(ctx, supervisor.TaskRequest{Plugin: "echo", ID: 7, Content: "over nats"})
	if err != nil || r.Outcome != supervisor.OutcomeAnswered || r.RTT <= 0 || !strings.Contains(fmt.Sprint(r.Records), "over nats") {
		t.Fatalf("task over NATS: %+v, %v", r, err)
	}
	if n := value(a.scrape(t), "plugvisor_plugin_tasks_sent_total", "instance", "echo"); n != 0 {
		t.Fatalf("host-a's echo was sent %v tasks", n)
	}
	a.stop(t)
	b.stop(t)
}

// natsConfig writes a server config: JetStream, and the users
// `plugvisor fleet nats-config` prints for args.
func natsConfig(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	users, err := exec.Command(testutil.Bin("plugvisor"), append([]string{"fleet", "nats-config", "--bcrypt=false"}, args...)...).Output()
	if err != nil {
		t.Fatalf("fleet nats-config: %v", err)
	}
	writeFile(t, filepath.Join(dir, "users.conf"), string(users))
	main := filepath.Join(dir, "nats.conf")
	writeFile(t, main, fmt.Sprintf("jetstream { store_dir: %q }\ninclude \"users.conf\"\n", filepath.Join(dir, "js")))
	return main
}

// ctlOver runs `plugvisor ctl` against a fleet host over NATS.
func ctlOver(t *testing.T, url, host string, args ...string) (string, int) {
	t.Helper()
	all := append([]string{"ctl", "--nats", url, "--host", host}, args...)
	out, err := exec.Command(testutil.Bin("plugvisor"), all...).CombinedOutput()
	return string(out), exitCode(err)
}

// With the generated permissions, a host publishes and answers only as
// itself: one that claims another's name with its own credentials stores
// nothing as that host and answers nothing for it, while the honest host
// and an operator go on as usual.
func TestFleetPermissionsHoldForRealHosts(t *testing.T) {
	conf := natsConfig(t, "--host", "edge-a:pass-a", "--host", "edge-b:pass-b", "--operator", "ops:pass-ops", "--hosts-may-create-stream")
	srv := natstest.Start(t, natstest.Options{ConfigFile: conf})
	login := func(user, pass string) string {
		return fmt.Sprintf("user = %q\npassword = %q\n", user, pass)
	}
	honest := startFleetHost(t, srv.URL(), "edge-a", login("edge-a", "pass-a"), tickerPlugin(t, "5ms")+echoPlugin(t))
	impostor := startFleetHost(t, srv.URL(), "edge-b", login("edge-a", "pass-a"), tickerPlugin(t, "5ms")+echoPlugin(t))
	for _, h := range []*fleetHost{honest, impostor} {
		h.stderr.waitFor(t, "instance=ticker from=starting to=running", "instance=echo from=starting to=running")
	}
	operator := strings.Replace(srv.URL(), "nats://", "nats://ops:pass-ops@", 1)
	testutil.WaitUntil(t, "edge-a's records stored", 30*time.Second, func() bool {
		return value(honest.scrape(t), "plugvisor_fleet_records_acked_total") >= 100
	})
	testutil.WaitUntil(t, "the impostor's records refused", 30*time.Second, func() bool {
		return value(impostor.scrape(t), "plugvisor_fleet_records_published_total") >= 100
	})
	if n := value(impostor.scrape(t), "plugvisor_fleet_records_acked_total"); n != 0 {
		t.Fatalf("the impostor had %v records acknowledged as edge-b", n)
	}
	out, code := ctlOver(t, operator, "edge-a", "send", "echo", "1", "hello")
	if code != 0 || !strings.Contains(out, "hello") {
		t.Fatalf("ctl send over NATS to edge-a: exit %d\n%s", code, out)
	}
	pwFile := filepath.Join(t.TempDir(), "ops.password")
	writeFile(t, pwFile, "pass-ops\n")
	if err := os.Chmod(pwFile, 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = ctlOver(t, srv.URL(), "edge-a", "--user", "ops", "--password-file", pwFile, "ping", "echo")
	if code != 0 {
		t.Fatalf("ctl ping over NATS with --user and --password-file: exit %d\n%s", code, out)
	}
	out, code = ctlOver(t, operator, "edge-b", "status")
	if code != 3 || !strings.Contains(out, "no responders") {
		t.Fatalf("ctl status of edge-b, served only by an impostor: exit %d, want 3 (no responders)\n%s", code, out)
	}
	honest.stop(t)
	impostor.stop(t)
	recs := readStream(t, operator, "edge-b")
	if len(recs) != 0 {
		t.Fatalf("%d records stored as edge-b by a host logged in as edge-a", len(recs))
	}
	if recs := readStream(t, operator, "edge-a"); len(recs) < 100 {
		t.Fatalf("edge-a: %d records stored", len(recs))
	}
}

// A host that starts while its server is down serves its API and sends
// its records once the server is up.
func TestFleetHostStartsBeforeItsServer(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{JetStream: true})
	srv.Stop()
	h := startFleetHost(t, srv.URL(), "early", "", tickerPlugin(t, "5ms")+echoPlugin(t))
	h.stderr.waitFor(t, "no NATS server answers yet", "instance=echo from=starting to=running")
	srv.Restart()
	testutil.WaitUntil(t, "records sent once the server is up", 30*time.Second, func() bool {
		return value(h.scrape(t), "plugvisor_fleet_records_acked_total") >= 50
	})
	testutil.WaitUntil(t, "the API served once the server is up", 30*time.Second, func() bool {
		_, code := ctlOver(t, srv.URL(), "early", "ping", "echo")
		return code == 0
	})
	h.stop(t)
}
