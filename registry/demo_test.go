package registry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	self := writeScript(t, dir, "plugvisor", `echo "$@"`)
	cfg, err := Demo(self, filepath.Join(dir, "work"))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Agent
	if a.Name != "plugvisor-demo" || a.WorkDir != filepath.Join(dir, "work") ||
		a.Socket != filepath.Join(dir, "work", "plugvisor.sock") ||
		a.HeartbeatInterval != time.Second || a.HeartbeatTimeout != 3*time.Second || a.MaxFrame != 4*MiB {
		t.Errorf("agent = %+v", a)
	}
	if names := pluginNames(cfg.Allowed()); !slices.Equal(names, []string{"chaos", "echo", "ticker"}) {
		t.Errorf("plugins = %q", names)
	}
	sum := mustHash(t, self)
	for _, p := range cfg.Plugins {
		if p.Exec != self || p.SHA256 != sum || !p.AutoStart || p.Where.String() != "<demo>:0" ||
			p.StartTimeout != 5*time.Second || p.Args[0] != "plugin" || p.Args[1] != p.Name {
			t.Errorf("%s = %+v", p.Name, p)
		}
	}
	if p := cfg.Plugin("ticker"); p.Restart != RestartAlways || p.Instances != 1 {
		t.Errorf("ticker = %+v", p)
	}
	if p := cfg.Plugin("echo"); !slices.Equal(p.InstanceIDs(), []string{"echo.0", "echo.1"}) {
		t.Errorf("echo ids = %q", p.InstanceIDs())
	}
	if p := cfg.Plugin("chaos"); p.Restart != RestartOnFailure ||
		!slices.Equal(p.Args, []string{"plugin", "chaos", "--crash-after", "5s", "--log"}) {
		t.Errorf("chaos = %+v", p)
	}

	// The demo runs through the same verification as any config.
	v := newVerifier(t)
	exe, err := v.Verify(cfg.Plugin("echo").Exec, cfg.Plugin("echo").SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer exe.File.Close()
	if got := run(t, exe, cfg.Plugin("echo").Args...); got != "plugin echo\n" {
		t.Errorf("output %q", got)
	}
}

// The demo is validated like a file: a socket path too long is refused,
// and positions say where the config came from.
func TestDemoValidates(t *testing.T) {
	dir := t.TempDir()
	self := writeScript(t, dir, "plugvisor", "true")
	_, err := Demo(self, "/tmp/"+strings.Repeat("w", 100))
	var errs *Errors
	// The control socket lives at a fixed place, not in the work dir, so
	// only the plugin socket is too long.
	if !errors.As(err, &errs) || len(*errs) != 1 ||
		!strings.HasPrefix((*errs)[0].Error(), "<demo>:0: agent.socket: /tmp/www") {
		t.Errorf("err = %v", err)
	}
	if _, err := Demo(filepath.Join(dir, "missing"), dir); err == nil || !strings.HasPrefix(err.Error(), "demo: open ") {
		t.Errorf("missing self: %v", err)
	}
}

func TestDemoControlSocketIsFixed(t *testing.T) {
	env := map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}
	if got := DemoControlSocket(func(k string) string { return env[k] }); got != "/run/user/1000/plugvisor/demo.ctl.sock" {
		t.Errorf("with XDG_RUNTIME_DIR: %s", got)
	}
	want := filepath.Join(os.TempDir(), fmt.Sprintf("plugvisor-%d", os.Getuid()), "demo.ctl.sock")
	if got := DemoControlSocket(func(string) string { return "" }); got != want {
		t.Errorf("without: %s, want %s", got, want)
	}
	cfg, err := Demo(writeScript(t, t.TempDir(), "plugvisor", "true"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Agent.ControlSocket != DemoControlSocket(os.Getenv) || cfg.Agent.RestartBurst != 10 {
		t.Errorf("control socket %s, burst %d", cfg.Agent.ControlSocket, cfg.Agent.RestartBurst)
	}
}
