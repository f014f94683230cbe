package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fleetAgent starts every snippet: an [agent] that is valid on any machine,
// whatever its hostname.
const fleetAgent = "[agent]\nhost = \"edge-1\"\nwork_dir = \"/tmp/pv\"\n"

// parseLines parses src as dir/c.toml and returns its errors as
// "line: key: msg", without the file name.
func parseLines(t *testing.T, dir, src string) (*Config, []string) {
	t.Helper()
	path := filepath.Join(dir, "c.toml")
	cfg, err := Parse(path, []byte(src))
	if err == nil {
		return cfg, nil
	}
	if cfg != nil {
		t.Errorf("Parse returned a config along with errors")
	}
	return nil, strings.Split(strings.ReplaceAll(err.Error(), path+":", ""), "\n")
}

func TestFleetAbsentLeavesLinkOff(t *testing.T) {
	cfg, errs := parseLines(t, t.TempDir(), fleetAgent)
	if errs != nil {
		t.Fatal(strings.Join(errs, "\n"))
	}
	if cfg.Fleet != nil || cfg.Agent.MetricsListen != "" {
		t.Errorf("fleet %+v, metrics_listen %q; want nil and off", cfg.Fleet, cfg.Agent.MetricsListen)
	}
	_, errs = parseLines(t, t.TempDir(), "fleet = 3\n"+fleetAgent)
	if want := "1: fleet: must be a table, got integer 3"; strings.Join(errs, "\n") != want {
		t.Errorf("fleet = 3: %q, want %q", errs, want)
	}
}

func TestFleetFullTable(t *testing.T) {
	path := "testdata/fleet-full.toml"
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	data := readFile(t, path)
	want := &Fleet{
		Servers:      []string{"nats://nats-1.example.com:4222", "tls://nats-2.example.com", "wss://nats.example.com/ws"},
		Creds:        filepath.Join(dir, "secrets", "edge-1.creds"),
		TLSCA:        "/etc/plugvisor/fleet-ca.pem",
		TLSCert:      "/etc/plugvisor/edge-1.pem",
		TLSKey:       filepath.Join(dir, "secrets", "edge-1-key.pem"),
		Host:         "edge_1-eu",
		Labels:       map[string]string{"env": "prod", "role": "edge", "site": "eu-west-1:rack/4.b"},
		Prefix:       "acme.plugvisor",
		Stream:       "ACME_RECORDS",
		StreamMaxAge: 72 * time.Hour, StreamMaxBytes: 10 * GiB, StreamReplicas: 3,
		DuplicateWindow: 5 * time.Minute, PublishWindow: 256 * KiB,
		SpoolMemory: 32 * MiB, SpoolFile: GiB, ConnectTimeout: 2 * time.Second,
		Where: Pos{File: path, Line: lineOf(t, data, "[fleet]")},
	}
	if !reflect.DeepEqual(cfg.Fleet, want) {
		t.Errorf("fleet\n got %+v\nwant %+v", cfg.Fleet, want)
	}
	if cfg.Agent.MetricsListen != "127.0.0.1:9464" {
		t.Errorf("metrics_listen = %q", cfg.Agent.MetricsListen)
	}
}

func TestFleetDefaults(t *testing.T) {
	cfg, errs := parseLines(t, t.TempDir(), fleetAgent+"[fleet]\nservers = \"nats://localhost\"\n")
	if errs != nil {
		t.Fatal(strings.Join(errs, "\n"))
	}
	want := &Fleet{
		Servers: []string{"nats://localhost"}, Host: "edge-1", Prefix: "plugvisor", Stream: "PLUGVISOR_RECORDS",
		CreateStream: true, StreamMaxAge: 24 * time.Hour, StreamMaxBytes: GiB, StreamReplicas: 1,
		DuplicateWindow: 2 * time.Minute, PublishWindow: MiB, SpoolMemory: 16 * MiB, SpoolFile: 0,
		ConnectTimeout: 5 * time.Second, Where: cfg.Fleet.Where,
	}
	if !reflect.DeepEqual(cfg.Fleet, want) {
		t.Errorf("fleet\n got %+v\nwant %+v", cfg.Fleet, want)
	}
	if cfg.Fleet.Where.Line != 4 {
		t.Errorf("Where = %v, want line 4", cfg.Fleet.Where)
	}
}

// Each snippet follows fleetAgent (lines 1-3); its errors must be exactly
// want ("line: key: msg", {dir} for the config dir).
func TestFleetMessages(t *testing.T) {
	dir := t.TempDir()
	const servers = "[fleet]\nservers = \"nats://n\"\n" // lines 4-5
	for _, c := range []struct {
		name, toml string
		want       []string
	}{
		{"no servers", "[fleet]\nhost = \"h\"", []string{
			`4: fleet.servers: required: at least one server URL (nats://, tls://, ws:// or wss://)`}},
		{"empty server list", "[fleet]\nservers = []", []string{
			`5: fleet.servers: required: at least one server URL (nats://, tls://, ws:// or wss://)`}},
		{"servers of wrong type", "[fleet]\nservers = 4222", []string{
			`5: fleet.servers: must be a URL string or an array of them, got integer 4222`,
			`5: fleet.servers: required: at least one server URL (nats://, tls://, ws:// or wss://)`}},
		{"one server of another scheme", "[fleet]\nservers = \"https://n\"", []string{
			`5: fleet.servers: server URL "https://n" has scheme "https" (want nats, tls, ws or wss)`}},
		{"one-element list names its element", "[fleet]\nservers = [\"n:4222\"]", []string{
			`5: fleet.servers[0]: server URL "n:4222" has scheme "n" (want nats, tls, ws or wss)`}},
		{"unparsable URL", "[fleet]\nservers = \"nats://n:port\"", []string{
			`5: fleet.servers: invalid server URL "nats://n:port": invalid port ":port" after host`}},
		{"every scheme", "[fleet]\nservers = [\"nats://a\", \"tls://b:4443\", \"ws://c/x\", \"wss://d\"]", nil},
		{"unknown key suggests", servers + "stream_replica = 3", []string{
			`6: fleet.stream_replica: unknown key (did you mean "stream_replicas"?)`}},
		{"password without user", servers + "password = \"s\"", []string{
			`6: fleet.password: requires user: a password alone names nobody`}},
		{"user and password", servers + "user = \"u\"\npassword = \"s\"", nil},
		{"creds and nkey_seed", servers + "creds = \"/c\"\nnkey_seed = \"/k\"", []string{
			`7: fleet.nkey_seed: only one of creds, nkey_seed and user may be set, got creds and nkey_seed`}},
		{"all three", servers + "creds = \"/c\"\nnkey_seed = \"/k\"\nuser = \"u\"", []string{
			`8: fleet.user: only one of creds, nkey_seed and user may be set, got creds and nkey_seed and user`}},
		{"tls_cert without tls_key", servers + "tls_cert = \"/c.pem\"", []string{
			`6: fleet.tls_cert: requires tls_key: a client certificate is of no use without its private key`}},
		{"tls_key without tls_cert", servers + "tls_key = \"/k.pem\"", []string{
			`6: fleet.tls_key: requires tls_cert: a private key is of no use without its client certificate`}},
		{"secrets need not exist", servers + "nkey_seed = \"/nonexistent/seed\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\ntls_ca = \"ca.pem\"", nil},
		{"empty path", servers + "creds = \"\"", []string{`6: fleet.creds: must not be empty`}},
		{"empty host", servers + "host = \"\"", []string{`6: fleet.host: must not be empty (leave it out for the default)`}},
		{"host too long", servers + "host = \"" + strings.Repeat("h", 65) + "\"", []string{
			`6: fleet.host: invalid host "` + strings.Repeat("h", 65) + `": it is one token of NATS subjects, so it must be 1 to 64 letters, digits, '_' or '-'`}},
		{"host wildcard", servers + "host = \">\"", []string{
			`6: fleet.host: invalid host ">": it is one token of NATS subjects, so it must be 1 to 64 letters, digits, '_' or '-'`}},
		{"prefix empty token", servers + "prefix = \"a..b\"", []string{
			`6: fleet.prefix: invalid prefix "a..b": every subject starts with it, so it must be dot-separated tokens of letters, digits, '_' or '-', no wildcards, at most 64 bytes`}},
		{"prefix too long", servers + "prefix = \"" + strings.Repeat("a.", 32) + "b\"", []string{
			`6: fleet.prefix: invalid prefix "` + strings.Repeat("a.", 32) + `b": every subject starts with it, so it must be dot-separated tokens of letters, digits, '_' or '-', no wildcards, at most 64 bytes`}},
		{"prefix of 64 bytes", servers + "prefix = \"" + strings.Repeat("a.", 31) + "bc\"", nil},
		{"stream empty", servers + "stream = \"\"", []string{
			`6: fleet.stream: invalid stream name "" (want 1 to 64 letters, digits, '_' or '-')`}},
		{"bare duration", servers + "stream_max_age = 60", []string{
			`6: fleet.stream_max_age: must be a duration string such as "500ms" or "5s", got integer 60`}},
		{"zero duration", servers + "duplicate_window = \"0s\"", []string{`6: fleet.duplicate_window: must be positive, got 0s`}},
		{"negative duration", servers + "connect_timeout = \"-1s\"", []string{`6: fleet.connect_timeout: must be positive, got -1s`}},
		{"duplicate window beyond max age only matters when creating", servers + "create_stream = false\nstream_max_age = \"1m\"\nduplicate_window = \"2m\"", nil},
		{"zero stream_max_bytes", servers + "stream_max_bytes = 0", []string{`6: fleet.stream_max_bytes: must be positive, got 0`}},
		{"negative spool_file", servers + "spool_file = -1", []string{`6: fleet.spool_file: must not be negative, got -1`}},
		{"tiny spool_file", servers + `spool_file = "16"`, []string{`6: fleet.spool_file: 16 is out of range (want 0, none, or at least 64KiB)`}},
		{"tiny spool_memory", servers + `spool_memory = "16"`, []string{`6: fleet.spool_memory: 16 is out of range (want 64KiB to 4GiB)`}},
		{"spool_file off", servers + "spool_file = 0", nil},
		{"publish_window bounds", servers + "publish_window = \"4KiB\"", nil},
		{"publish_window upper bound", servers + "publish_window = \"64MiB\"", nil},
		{"publish_window too large", servers + "publish_window = \"65MiB\"", []string{
			`6: fleet.publish_window: 65MiB is out of range (want 4KiB to 64MiB)`}},
		{"replicas zero", servers + "stream_replicas = 0", []string{`6: fleet.stream_replicas: must be between 1 and 5, got 0`}},
		{"create_stream of wrong type", servers + "create_stream = \"yes\"", []string{
			`6: fleet.create_stream: must be true or false, got string "yes"`}},
		{"label name too long", servers + "[fleet.labels]\n" + strings.Repeat("k", 33) + " = \"v\"", []string{
			`7: fleet.labels.` + strings.Repeat("k", 33) + `: invalid label name (want 1 to 32 letters, digits, '_' or '-')`}},
		{"label value too long", servers + "[fleet.labels]\nk = \"" + strings.Repeat("v", 65) + "\"", []string{
			`7: fleet.labels.k: invalid value "` + strings.Repeat("v", 65) + `" (want 1 to 64 letters, digits, or any of _ . : / -; '=' and ',' would break selectors such as env=prod,role=edge)`}},
		{"label value with =", servers + "labels = { k = \"a=b\" }", []string{
			`6: fleet.labels.k: invalid value "a=b" (want 1 to 64 letters, digits, or any of _ . : / -; '=' and ',' would break selectors such as env=prod,role=edge)`}},
		{"label empty value", servers + "labels = { k = \"\" }", []string{
			`6: fleet.labels.k: invalid value "" (want 1 to 64 letters, digits, or any of _ . : / -; '=' and ',' would break selectors such as env=prod,role=edge)`}},
		{"label of wrong type", servers + "labels = { k = 1 }", []string{`6: fleet.labels.k: must be a string, got integer 1`}},
		{"32 labels", servers + "[fleet.labels]\n" + labelLines(32), nil},
		{"33 labels", servers + "[fleet.labels]\n" + labelLines(33), []string{`6: fleet.labels: has 33 labels, more than the 32 allowed`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := fleetAgent + c.toml + "\n"
			_, got := parseLines(t, dir, src)
			want := make([]string, len(c.want))
			for i, w := range c.want {
				want[i] = strings.ReplaceAll(w, "{dir}", dir)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("config:\n%s\ngot:\n\t%s\nwant:\n\t%s", src, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
			}
		})
	}
}

func labelLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "l%d = \"v\"\n", i)
	}
	return b.String()
}

// The default host is agent.host, which may be a dotted hostname: the
// message says where the value came from and which key fixes it.
func TestFleetHostDefaultsToAgentHost(t *testing.T) {
	src := "[agent]\nhost = \"edge-1.example.com\"\nwork_dir = \"/tmp/pv\"\n[fleet]\nservers = \"nats://n\"\n"
	_, got := parseLines(t, t.TempDir(), src)
	want := `4: fleet.host: agent.host "edge-1.example.com", the default, is no valid NATS subject token (want 1 to 64 letters, digits, '_' or '-'): set fleet.host`
	if strings.Join(got, "\n") != want {
		t.Errorf("got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), want)
	}
	cfg, errs := parseLines(t, t.TempDir(), src+"host = \"edge-1\"\n")
	if errs != nil || cfg.Fleet.Host != "edge-1" || cfg.Agent.Host != "edge-1.example.com" {
		t.Errorf("with fleet.host set: %v, %v", cfg, errs)
	}
}

// A config built in Go gets the checks a file gets, including those a file
// cannot fail because decoding normalises it.
func TestFleetValidatesProgrammaticConfig(t *testing.T) {
	a := defaultAgent(func(string) string { return "" })
	a.Name, a.Host, a.WorkDir = "n", "h", "/tmp/pv"
	a.MetricsListen = ":9464"
	finishAgent(&a)
	f := defaultFleet(Pos{})
	f.Servers = []string{"nats://n"}
	f.Creds = "edge.creds"
	f.TLSCert, f.TLSKey = "c.pem", "/k.pem"
	cfg := &Config{Agent: a, Fleet: f}
	finishFleet(cfg.Fleet, &cfg.Agent)
	var errs Errors
	validate(cfg, sourceMap{"": {File: "<go>"}}, &errs)
	want := []string{
		`<go>:0: agent.metrics_listen: must be written as "127.0.0.1:9464"`,
		`<go>:0: fleet.creds: must be an absolute path, got "edge.creds"`,
		`<go>:0: fleet.tls_cert: must be an absolute path, got "c.pem"`,
	}
	if got := strings.Split(errs.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	if f.Host != "h" {
		t.Errorf("host = %q, want the agent's", f.Host)
	}
}

func TestMetricsListen(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ in, want, err string }{
		{in: "", want: ""},
		{in: "9464", want: "127.0.0.1:9464"},
		{in: ":9464", want: "127.0.0.1:9464"},
		{in: "0", want: "127.0.0.1:0"},
		{in: ":65535", want: "127.0.0.1:65535"},
		{in: "0.0.0.0:9464", want: "0.0.0.0:9464"},
		{in: "localhost:09464", want: "localhost:9464"},
		{in: "[::1]:9464", want: "[::1]:9464"},
		{in: "[::]:80", want: "[::]:80"},
		{in: "65536", err: `invalid address "65536": port "65536" is not a number from 0 to 65535`},
		{in: ":http", err: `invalid address ":http": port "http" is not a number from 0 to 65535`},
		{in: "host:", err: `invalid address "host:": port "" is not a number from 0 to 65535`},
		{in: "-1", err: `invalid address "-1": address -1: missing port in address (want host:port, ":port" or a port alone)`},
		{in: "::1:9464", err: `invalid address "::1:9464": address ::1:9464: too many colons in address (want host:port, ":port" or a port alone)`},
		{in: "[::1]", err: `invalid address "[::1]": address [::1]: missing port in address (want host:port, ":port" or a port alone)`},
	} {
		got, err := NormalizeListen(c.in)
		if got != c.want || fmt.Sprint(err) != fmt.Sprint(errOrNil(c.err)) {
			t.Errorf("NormalizeListen(%q) = %q, %v; want %q, %s", c.in, got, err, c.want, c.err)
		}
		cfg, errs := parseLines(t, dir, fmt.Sprintf("%smetrics_listen = %q\n", fleetAgent, c.in))
		switch {
		case c.err != "" && strings.Join(errs, "\n") != "4: agent.metrics_listen: "+c.err:
			t.Errorf("metrics_listen = %q: errors %q", c.in, errs)
		case c.err == "" && (errs != nil || cfg.Agent.MetricsListen != c.want):
			t.Errorf("metrics_listen = %q: %v, errors %q; want %q", c.in, cfg, errs, c.want)
		}
	}
	_, errs := parseLines(t, dir, fleetAgent+"metrics_listen = 9464\n")
	if want := `4: agent.metrics_listen: must be a string such as "127.0.0.1:9464", got integer 9464`; strings.Join(errs, "\n") != want {
		t.Errorf("integer port: %q", errs)
	}
}

func errOrNil(msg string) error {
	if msg == "" {
		return nil
	}
	return fmt.Errorf("%s", msg)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
