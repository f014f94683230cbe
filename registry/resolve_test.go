package registry

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "flag.toml")
	envFile := filepath.Join(dir, "env.toml")
	xdgFile := filepath.Join(dir, "xdg", "plugvisor", "config.toml")
	homeFile := filepath.Join(dir, "home", ".config", "plugvisor", "config.toml")
	for _, f := range []string{flag, envFile, xdgFile, homeFile} {
		writeFile(t, f, "")
	}
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	all := map[string]string{
		"PLUGVISOR_CONFIG": envFile,
		"XDG_CONFIG_HOME":  filepath.Join(dir, "xdg"),
		"HOME":             filepath.Join(dir, "home"),
	}
	for _, c := range []struct {
		name, flag string
		env        map[string]string
		want       string
	}{
		{"flag wins", flag, all, flag},
		{"then PLUGVISOR_CONFIG", "", all, envFile},
		{"then XDG_CONFIG_HOME", "", map[string]string{"XDG_CONFIG_HOME": all["XDG_CONFIG_HOME"], "HOME": all["HOME"]}, xdgFile},
		{"relative XDG_CONFIG_HOME is ignored", "", map[string]string{"XDG_CONFIG_HOME": "xdg", "HOME": all["HOME"]}, homeFile},
		{"then HOME", "", map[string]string{"HOME": all["HOME"]}, homeFile},
	} {
		got, err := Resolve(c.flag, env(c.env))
		if err != nil || got != c.want {
			t.Errorf("%s: Resolve = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

func TestResolveNoConfig(t *testing.T) {
	dir := t.TempDir()
	for name, vars := range map[string]map[string]string{
		"default missing": {"HOME": dir},
		"no HOME at all":  {},
	} {
		got, err := Resolve("", func(k string) string { return vars[k] })
		if got != "" || !errors.Is(err, ErrNoConfig) {
			t.Errorf("%s: Resolve = %q, %v; want ErrNoConfig", name, got, err)
		}
	}
	_, err := Resolve("", func(k string) string { return map[string]string{"HOME": dir}[k] })
	if want := "no config file: " + dir + "/.config/plugvisor/config.toml does not exist"; err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestResolveExplicitPathMustExist(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.toml")
	_, err := Resolve(missing, nil)
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNoConfig) ||
		err.Error() != "config file "+missing+" (from --config): no such file" {
		t.Errorf("flag: %v", err)
	}
	_, err = Resolve("", func(k string) string { return map[string]string{"PLUGVISOR_CONFIG": dir}[k] })
	if err == nil || err.Error() != "config file "+dir+" (from $PLUGVISOR_CONFIG): is a directory" {
		t.Errorf("env: %v", err)
	}
	// nil getenv reads the real environment.
	t.Setenv("PLUGVISOR_CONFIG", missing)
	if _, err := Resolve("", nil); err == nil || err.Error() != "config file "+missing+" (from $PLUGVISOR_CONFIG): no such file" {
		t.Errorf("os env: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("Resolve created the file")
	}
}
