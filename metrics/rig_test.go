package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/metrics"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// rig is a real engine with an exporter served over real HTTP.
type rig struct {
	t   *testing.T
	env *supervisortest.Env
	url string // of the server, no trailing slash
}

// plugin is an example plugin's table.
func plugin(t testing.TB, name string, autoStart bool, extra string) string {
	return supervisortest.Plugin(t, name, supervisortest.Bin(name), fmt.Sprintf("auto_start = %v\n%s", autoStart, extra))
}

// echoAndTicker are echo and ticker (a record every 20 ms), both started.
func echoAndTicker(t testing.TB) string {
	return plugin(t, "echo", true, "") + plugin(t, "ticker", true, `args = ["--interval", "20ms"]`)
}

// startRig runs an engine with plugins and an exporter for it; wrap, when
// set, stands between the exporter and the engine.
func startRig(t *testing.T, plugins string, so supervisortest.Options, o metrics.Options, wrap func(supervisor.API) supervisor.API) *rig {
	t.Helper()
	env := supervisortest.Start(t, plugins, so)
	o.API = env.Sup
	if wrap != nil {
		o.API = wrap(env.Sup)
	}
	return serve(t, env, o)
}

func serve(t *testing.T, env *supervisortest.Env, o metrics.Options) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e, err := metrics.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := metrics.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- metrics.Serve(ctx, ln, e) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return once its context ended")
		}
	})
	return &rig{t: t, env: env, url: "http://" + ln.Addr().String()}
}

// get is the status and body of a GET of path.
func (r *rig) get(path string) (int, string) {
	r.t.Helper()
	resp, err := http.Get(r.url + path)
	if err != nil {
		r.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("GET %s: reading the body: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// scrape GETs /metrics and parses it as Prometheus text.
func (r *rig) scrape() families {
	r.t.Helper()
	code, body := r.get("/metrics")
	if code != http.StatusOK {
		r.t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		r.t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return families(mfs)
}

// scrapeUntil scrapes until cond holds of a scrape, and returns that one.
func (r *rig) scrapeUntil(what string, cond func(families) bool) families {
	r.t.Helper()
	var f families
	testutil.WaitUntil(r.t, what, 30*time.Second, func() bool {
		f = r.scrape()
		return cond(f)
	})
	return f
}

// families are a scrape's metric families by name.
type families map[string]*dto.MetricFamily

// series is the metric of family name with exactly labels, or nil.
func (f families) series(name string, labels map[string]string) *dto.Metric {
	mf := f[name]
	if mf == nil {
		return nil
	}
	for _, m := range mf.GetMetric() {
		if sameLabels(m.GetLabel(), labels) {
			return m
		}
	}
	return nil
}

// value is the value of a counter, gauge or untyped series, and whether
// the series is there.
func (f families) value(name string, labels map[string]string) (float64, bool) {
	m := f.series(name, labels)
	switch {
	case m == nil:
		return 0, false
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Untyped != nil:
		return m.Untyped.GetValue(), true
	}
	return 0, false
}

func sameLabels(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, l := range got {
		if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
			return false
		}
	}
	return true
}

// of is the plugin and instance labels of instance id of plugin name.
func of(name, id string, more ...string) map[string]string {
	l := map[string]string{"plugin": name, "instance": id}
	for i := 0; i+1 < len(more); i += 2 {
		l[more[i]] = more[i+1]
	}
	return l
}

// httpPost is the status of an empty POST to url.
func httpPost(url string) (int, error) {
	resp, err := http.Post(url, "text/plain", strings.NewReader(""))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
