package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testdata = "../testdata/config"

// TestBadConfigs loads each config under testdata/config/bad and compares
// the full error text with the "# want: " comments in the files: every
// comment is one expected "file:line: key: msg" on its own line, so the
// expectations cannot drift from the lines they describe. {dir} stands for
// the config's absolute directory, {main} for the config's name.
func TestBadConfigs(t *testing.T) {
	t.Setenv("HOME", "/home/test")
	t.Setenv("XDG_STATE_HOME", "")
	for _, name := range []string{"unknown_keys", "values", "names", "hosts", "sockets", "manifests"} {
		t.Run(name, func(t *testing.T) {
			path := testdata + "/bad/" + name + ".toml"
			if name == "manifests" {
				path = testdata + "/bad/manifests/config.toml"
			}
			want := wantedErrors(t, path, name == "manifests")
			if len(want) == 0 {
				t.Fatal("fixture declares no errors")
			}
			cfg, err := Load(path)
			if cfg != nil {
				t.Errorf("Load returned a config along with errors")
			}
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load error %v (%T) is not *Errors", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if !slices.Equal(got, want) {
				t.Errorf("errors differ\n got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
			}
			if len(*errs) != len(got) || len(errs.Unwrap()) != len(got) {
				t.Errorf("Errors holds %d, Unwrap %d, text %d lines", len(*errs), len(errs.Unwrap()), len(got))
			}
		})
	}
}

// wantedErrors reads the "# want: " comments of main and, with manifests,
// of every other .toml file below its directory, in the order Load reports
// them: main first, then manifests by path.
func wantedErrors(t *testing.T, main string, manifests bool) []string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Dir(main))
	if err != nil {
		t.Fatal(err)
	}
	expand := strings.NewReplacer("{dir}", dir, "{main}", main)
	want := wantsIn(t, main, main, expand)
	if !manifests {
		return want
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".toml" || p == filepath.Join(dir, filepath.Base(main)) {
			return err
		}
		want = append(want, wantsIn(t, p, p, expand)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return want
}

func wantsIn(t *testing.T, path, name string, expand *strings.Replacer) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i, line := range strings.Split(string(data), "\n") {
		_, rest, ok := strings.Cut(line, "# want: ")
		if !ok {
			continue
		}
		for _, w := range strings.Split(rest, " # want: ") {
			want = append(want, fmt.Sprintf("%s:%d: %s", name, i+1, expand.Replace(w)))
		}
	}
	return want
}

// The annotated example is valid except that its executables are not
// installed here: those must be its only errors.
func TestExampleOnlyLacksExecutables(t *testing.T) {
	path := testdata + "/example.toml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(path, data)
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse: %v", err)
	}
	manifest, _ := filepath.Abs(testdata + "/plugins.d/ticker/plugin.toml")
	want := []string{
		fmt.Sprintf("%s:%d: trust.revocation_file: /etc/plugvisor/revoked.toml: no such file", path, lineOf(t, data, `revocation_file =`)),
		fmt.Sprintf("%s:%d: trust.keys.release-2027.public_key_file: /etc/plugvisor/keys/release-2027.pub: no such file", path, lineOf(t, data, `public_key_file =`)),
		fmt.Sprintf("%s:%d: plugins.echo.exec: /usr/local/lib/plugvisor/echo: no such file", path, lineOf(t, data, `exec = "/usr/local/lib/plugvisor/echo"`)),
		fmt.Sprintf("%s:%d: plugins.reporter.exec: /usr/local/lib/plugvisor/reporter: no such file", path, lineOf(t, data, `exec = "/usr/local/lib/plugvisor/reporter"`)),
		manifest + ":3: plugins.ticker.exec: " + filepath.Dir(manifest) + "/bin/ticker: no such file",
	}
	if got := strings.Split(errs.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("errors:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	for _, e := range *errs {
		if !errors.Is(err, e) || !strings.HasSuffix(e.Key, ".exec") && !strings.HasSuffix(e.Key, "_file") {
			t.Errorf("unexpected error %v", e)
		}
	}
}

// With its executables in place the example loads, and every key in it
// reaches the Config as written.
func TestExampleLoadsEveryKey(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	for _, name := range []string{"echo", "reporter"} {
		writeScript(t, bin, name, "exit 0")
	}
	writeScript(t, filepath.Join(dir, "plugins.d", "ticker", "bin"), "ticker", "exit 0")
	copyFile(t, testdata+"/plugins.d/ticker/plugin.toml", filepath.Join(dir, "plugins.d", "ticker", "plugin.toml"))
	data, err := os.ReadFile(testdata + "/example.toml")
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.ReplaceAll(string(data), "/usr/local/lib/plugvisor", bin))
	data = []byte(strings.ReplaceAll(string(data), "/etc/plugvisor/revoked.toml", filepath.Join(dir, "revoked.toml")))
	data = []byte(strings.ReplaceAll(string(data), "/etc/plugvisor/keys", filepath.Join(dir, "keys")))
	revoked := filepath.Join(dir, "revoked.toml")
	writeFile(t, revoked, "keys = [\"00000000000000ab\"]\nsha256 = [\""+strings.Repeat("ab", 32)+"\"]\n")
	writeFile(t, filepath.Join(dir, "keys", "release-2027.pub"),
		"untrusted comment: minisign public key 226D5D4DF6AD9EA2\nRWSinq32TV1tIi2PElP/42+or/4fsctfajSt/Mz27BBu8f15/Zk78VdQ\n")
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	nobodyUID, nobodyGID := lookupIDs(t, "nobody")
	wantAgent := Agent{
		Name: "edge-1", Host: "edge-1", WorkDir: "/var/lib/plugvisor",
		Socket: "/var/lib/plugvisor/plugvisor.sock", ControlSocket: "/var/lib/plugvisor/plugvisor.ctl.sock",
		HeartbeatInterval: time.Second, HeartbeatTimeout: 5 * time.Second, RegistrationTimeout: 5 * time.Second,
		TaskTimeout: 10 * time.Second, StopGrace: 5 * time.Second, MaxFrame: 4 * MiB, LogMaxSize: 10 * MiB,
		LogBackups: 3, SubscriberBuffer: 16 * MiB, OutputBuffer: 16 * MiB, TaskReplyBuffer: 4 * MiB, LogMemory: 256 * KiB, HistoryMemory: 96 * KiB,
		RestartBurst: 5, RestartWindow: time.Minute,
		ManifestDirs: []string{filepath.Join(dir, "plugins.d")}, Theme: "dark",
		Limits: Limits{MemoryMax: 512 * MiB, MemoryHigh: 384 * MiB, CPUMax: 1, PidsMax: 256}, User: "nobody",
		MetricsListen: "127.0.0.1:9464",
	}
	if fmt.Sprint(cfg.Agent) != fmt.Sprint(wantAgent) {
		t.Errorf("agent\n got %+v\nwant %+v", cfg.Agent, wantAgent)
	}
	wantFleet := Fleet{
		Servers: []string{"tls://nats-1.example.net:4222", "tls://nats-2.example.net:4222"},
		Creds:   "/etc/plugvisor/edge-1.creds", TLSCA: "/etc/plugvisor/nats-ca.pem",
		Host: "edge-1", Labels: map[string]string{"env": "prod", "role": "edge"},
		Prefix: "plugvisor", Stream: "PLUGVISOR_RECORDS", CreateStream: true,
		StreamMaxAge: 24 * time.Hour, StreamMaxBytes: GiB, StreamReplicas: 1, DuplicateWindow: 2 * time.Minute,
		PublishWindow: MiB, SpoolMemory: 16 * MiB, SpoolFile: 256 * MiB, ConnectTimeout: 5 * time.Second,
		Where: Pos{File: path, Line: lineOf(t, data, "[fleet]")},
	}
	if cfg.Fleet == nil || fmt.Sprint(*cfg.Fleet) != fmt.Sprint(wantFleet) {
		t.Errorf("fleet\n got %+v\nwant %+v", cfg.Fleet, wantFleet)
	}
	manifest := filepath.Join(dir, "plugins.d", "ticker", "plugin.toml")
	if !slices.Equal(cfg.Files, []string{path, revoked, manifest}) {
		t.Errorf("Files = %q", cfg.Files)
	}
	echo := cfg.Plugin("echo")
	wantEcho := Plugin{
		Name: "echo", Exec: filepath.Join(bin, "echo"), Args: []string{"--greeting", "hello"},
		Env: map[string]string{"LEVEL": "debug"}, Version: "1.2.0",
		SHA256:    "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
		AutoStart: true, Restart: RestartAlways, StartTimeout: 3 * time.Second, Instances: 3,
		Author: "Plugvisor Authors", Description: "Replies to each task with its content.",
		Limits: Limits{MemoryMax: 64 * MiB, MemoryHigh: 48 * MiB, CPUMax: 0.25, PidsMax: 32},
		User:   "nobody", UID: nobodyUID, GID: nobodyGID, Where: Pos{File: path, Line: lineOf(t, data, "[plugins.echo]")},
		RequireSignature: true, Signature: filepath.Join(bin, "echo.minisig"), AllowDowngrade: true,
		own: map[string]bool{"memory_max": true, "memory_high": true, "cpu_max": true, "pids_max": true, "require_signature": true, "signature": true},
	}
	if echo == nil || fmt.Sprint(*echo) != fmt.Sprint(wantEcho) {
		t.Errorf("echo\n got %+v\nwant %+v", echo, wantEcho)
	}
	checkExampleTrust(t, cfg.Trust, dir, revoked, data)
	rep := cfg.Plugin("reporter")
	if rep.AutoStart || rep.Restart != RestartNever || rep.StartTimeout != 5*time.Second || rep.Instances != 1 || rep.RequireSignature {
		t.Errorf("reporter = %+v", rep)
	}
	daemonUID, daemonGID := lookupIDs(t, "daemon")
	if rep.UID != daemonUID || rep.GID != daemonGID || rep.Limits != wantAgent.Limits || rep.Sandbox == nil ||
		!slices.Equal(rep.Sandbox.ReadOnly, []string{"/etc/ssl/certs"}) || !slices.Equal(rep.Sandbox.TCPConnect, []uint16{443}) {
		t.Errorf("reporter's containment: uid %d gid %d, limits %s, sandbox %+v", rep.UID, rep.GID, rep.Limits, rep.Sandbox)
	}
	ticker := cfg.Plugin("ticker")
	if ticker.Exec != filepath.Join(dir, "plugins.d", "ticker", "bin", "ticker") ||
		ticker.Where != (Pos{File: manifest, Line: 1}) || ticker.Restart != RestartAlways || !ticker.RequireSignature ||
		ticker.Signature != ticker.Exec+".minisig" {
		t.Errorf("ticker = %+v", ticker)
	}
	if names := pluginNames(cfg.Plugins); !slices.Equal(names, []string{"echo", "reporter", "ticker"}) {
		t.Errorf("plugins = %q", names)
	}
	if names := pluginNames(cfg.Allowed()); !slices.Equal(names, []string{"echo", "ticker"}) {
		t.Errorf("allowed on edge-1 = %q", names)
	}
	if h := cfg.Hosts["edge-2"]; !slices.Equal(h.Plugins, []string{"echo", "reporter"}) || h.Where.Line != lineOf(t, data, "[hosts.edge-2]") {
		t.Errorf("edge-2 = %+v", h)
	}
	if cfg.Plugin("nope") != nil {
		t.Error("Plugin(nope) is not nil")
	}
}

func TestDefaults(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	exe := writeScript(t, dir, "p", "exit 0")
	cfg, err := Parse(filepath.Join(dir, "c.toml"), []byte(`
[plugins.p]
exec = "p"
sha256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
`))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	a := cfg.Agent
	work := filepath.Join(dir, "state", "plugvisor")
	if a.Name != host || a.Host != host || a.WorkDir != work ||
		a.Socket != work+"/plugvisor.sock" || a.ControlSocket != work+"/plugvisor.ctl.sock" ||
		a.HeartbeatInterval != time.Second || a.HeartbeatTimeout != 5*time.Second ||
		a.RegistrationTimeout != 5*time.Second || a.TaskTimeout != 10*time.Second ||
		a.StopGrace != 5*time.Second || a.MaxFrame != 4*MiB || a.LogMaxSize != 10*MiB ||
		a.LogBackups != 3 || a.RestartBurst != 5 || a.RestartWindow != time.Minute ||
		a.ManifestDirs != nil || a.Theme != "" {
		t.Errorf("agent defaults = %+v", a)
	}
	p := cfg.Plugins[0]
	if p.Exec != exe || !p.AutoStart || p.Restart != RestartOnFailure || p.Instances != 1 ||
		!p.Limits.IsZero() || p.User != "" || p.Group != "" || p.UID != -1 || p.GID != -1 ||
		p.StartTimeout != 5*time.Second || p.SHA256 != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" ||
		p.Where != (Pos{File: filepath.Join(dir, "c.toml"), Line: 2}) {
		t.Errorf("plugin defaults = %+v", p)
	}
	if !slices.Equal(p.InstanceIDs(), []string{"p"}) || cfg.Hosts != nil || len(cfg.Allowed()) != 1 {
		t.Errorf("ids %q hosts %v allowed %d", p.InstanceIDs(), cfg.Hosts, len(cfg.Allowed()))
	}

	t.Setenv("XDG_STATE_HOME", "relative/ignored")
	t.Setenv("HOME", "/home/someone")
	if got := defaultAgent(os.Getenv).WorkDir; got != "/home/someone/.local/state/plugvisor" {
		t.Errorf("work dir without XDG_STATE_HOME = %q", got)
	}
}

func TestInstanceIDs(t *testing.T) {
	p := &Plugin{Name: "echo", Instances: 3}
	if got := p.InstanceIDs(); !slices.Equal(got, []string{"echo.0", "echo.1", "echo.2"}) {
		t.Errorf("InstanceIDs = %q", got)
	}
}

func TestSyntaxErrorKeepsLineAndColumn(t *testing.T) {
	_, err := Parse("c.toml", []byte("[agent]\nname = \"x\"\ntheme = \"dark\" extra\n"))
	want := `c.toml:3:15: expected a top-level item to end with a newline, comment, or EOF, but got 'e' instead`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Pos != (Pos{File: "c.toml", Line: 3, Col: 15}) || e.Key != "" {
		t.Errorf("as *Error: %+v", e)
	}
}

func TestManifestSyntaxErrorStillReportsConfigProblems(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "m", "broken", "plugin.toml"), "exec = [\n")
	path := filepath.Join(dir, "c.toml")
	writeFile(t, path, "[agent]\nwork_dir = \"w\"\nmanifest_dirs = [\"m\"]\nlog_backups = -1\n")
	_, err := Load(path)
	manifest := filepath.Join(dir, "m", "broken", "plugin.toml")
	want := path + ":4: agent.log_backups: must not be negative, got -1\n" +
		manifest + ":1:9: unexpected EOF; expected value"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestDuplicateAcrossManifestDirsNamesBothFiles(t *testing.T) {
	dir := t.TempDir()
	exe := writeScript(t, dir, "p", "exit 0")
	body := fmt.Sprintf("exec = %q\nsha256 = %q\n", exe, sha256Hex("x"))
	writeFile(t, filepath.Join(dir, "one", "p", "plugin.toml"), body)
	writeFile(t, filepath.Join(dir, "two", "p", "plugin.toml"), body)
	path := filepath.Join(dir, "c.toml")
	writeFile(t, path, "[agent]\nwork_dir = \"w\"\nmanifest_dirs = [\"one\", \"two\"]\n")
	_, err := Load(path)
	one, two := filepath.Join(dir, "one", "p", "plugin.toml"), filepath.Join(dir, "two", "p", "plugin.toml")
	want := fmt.Sprintf("%s:1: plugins.p: plugin \"p\" is defined twice: at %s:1 and at %s:1", two, one, two)
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestMissingSHA256ShowsTheFileHash(t *testing.T) {
	dir := t.TempDir()
	exe := writeScript(t, dir, "p", "echo hi")
	sum, err := FileSHA256(exe)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "c.toml")
	for body, msg := range map[string]string{
		"":                  "required",
		`sha256 = "abc123"`: `must be 64 hex digits, got "abc123"`,
		`sha256 = "` + strings.Repeat("g", 64) + `"`: `must be 64 hex digits, got "` + strings.Repeat("g", 64) + `"`,
	} {
		_, err := Parse(path, []byte("[agent]\nwork_dir = \"w\"\n[plugins.p]\nexec = \"p\"\n"+body+"\n"))
		line := 5
		if body == "" {
			line = 3
		}
		want := fmt.Sprintf("%s:%d: plugins.p.sha256: %s; %s currently has sha256 %s (check it is the build you trust before pasting it)",
			path, line, msg, exe, sum)
		if err == nil || err.Error() != want {
			t.Errorf("err = %v\nwant %s", err, want)
		}
	}
}

func TestScriptWithBadInterpreterFailsLoad(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "p")
	writeFile(t, exe, "#!python3\nprint(1)\n")
	if err := os.Chmod(exe, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "c.toml")
	_, err := Parse(path, []byte(fmt.Sprintf("[agent]\nwork_dir = \"w\"\n[plugins.p]\nexec = \"p\"\nsha256 = %q\n", sha256Hex("x"))))
	want := fmt.Sprintf(`%s:4: plugins.p.exec: %s: bad script interpreter: "python3" is not an absolute path`, path, exe)
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestWorkDirWithoutEnvironment(t *testing.T) {
	t.Setenv("HOME", "")
	t.Setenv("XDG_STATE_HOME", "")
	_, err := Parse("/etc/c.toml", []byte("[agent]\nname = \"n\"\n"))
	want := "/etc/c.toml:1: agent.work_dir: must be set: there is no $XDG_STATE_HOME or $HOME to derive it from"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestAllowedFollowsHost(t *testing.T) {
	cfg := &Config{
		Agent:   Agent{Host: "b"},
		Plugins: []*Plugin{{Name: "x"}, {Name: "y"}, {Name: "z"}},
		Hosts:   map[string]Host{"a": {Plugins: []string{"x"}}, "b": {Plugins: []string{"z", "x"}}},
	}
	if got := pluginNames(cfg.Allowed()); !slices.Equal(got, []string{"x", "z"}) {
		t.Errorf("Allowed = %q", got)
	}
	cfg.Hosts = map[string]Host{}
	if got := cfg.Allowed(); len(got) != 0 {
		t.Errorf("Allowed with an empty [hosts] = %q", pluginNames(got))
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "load config: open ") {
		t.Errorf("err = %v", err)
	}
}

func pluginNames(ps []*Plugin) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

// lineOf is the 1-based line of data that starts with prefix, so tests of
// positions survive edits to the comments around it.
func lineOf(t *testing.T, data []byte, prefix string) int {
	t.Helper()
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, prefix) {
			return i + 1
		}
	}
	t.Fatalf("no line starting with %q", prefix)
	return 0
}

// lookupIDs is the uid and primary gid of a user of this machine.
func lookupIDs(t *testing.T, name string) (uid, gid int) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("user %s: %v (the example config runs its plugins as nobody)", name, err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}
