package themes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltinsAreValid(t *testing.T) {
	seen := map[string]bool{}
	for _, th := range Builtins() {
		if seen[th.Name] {
			t.Errorf("duplicate theme %q", th.Name)
		}
		seen[th.Name] = true
		for _, sl := range th.slots() {
			if !valid(string(*sl.c)) {
				t.Errorf("%s.%s = %q is not a colour", th.Name, sl.key, *sl.c)
			}
		}
	}
	for _, name := range []string{DarkName, LightName, HighContrastName, NoColorName} {
		if !seen[name] {
			t.Errorf("no built-in %q", name)
		}
	}
	nc := NoColor()
	for _, sl := range nc.slots() {
		if sl.c.IsSet() {
			t.Errorf("no-color sets %s", sl.key)
		}
	}
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "dusk.toml", "extends = \"light\"\ndark = true\n# comment\ntext = \"#c0caf5\"\nfailed = \"9\"\nselection = \"\"\n")
	write(t, dir, "bad.toml", "text = \"#fff\"\naccent = \"blue\"\nborder = 7\nsparkle = \"#000\"\n")
	write(t, dir, "broken.toml", "text = \n")
	write(t, dir, "dark.toml", "name = \"dark\"\ntext = \"#111\"\n") // redefines a built-in
	write(t, dir, "notes.txt", "ignored")

	got, err := Load(dir)
	if err == nil {
		t.Fatal("no error for bad theme files")
	}
	msg := err.Error()
	for _, want := range []string{
		filepath.Join(dir, "bad.toml") + ":2: accent: \"blue\" is not a colour",
		filepath.Join(dir, "bad.toml") + ":3: border: must be a string",
		filepath.Join(dir, "bad.toml") + ":4: sparkle: unknown key",
		filepath.Join(dir, "broken.toml") + ":1:",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if len(got) != 2 {
		t.Fatalf("loaded %d good themes, want 2 (dark, dusk): %+v", len(got), got)
	}
	dusk, ok := Find("dusk", got)
	if !ok {
		t.Fatal("dusk not found")
	}
	light := Light()
	if dusk.Text != "#c0caf5" || dusk.Failed != "9" || dusk.Selection != "" || !dusk.Dark || dusk.Accent != light.Accent {
		t.Errorf("dusk = %+v", dusk)
	}
	if d, _ := Find("dark", got); d.Text != "#111" {
		t.Errorf("user dark did not replace the built-in: %+v", d)
	}
	all := All(got)
	if all[0].Name != "dark" || all[0].Text != "#111" || all[len(all)-1].Name != "dusk" {
		t.Errorf("cycle order: %v", names(all))
	}
}

func names(ts []Theme) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func TestLoadMissingDir(t *testing.T) {
	got, err := Load(filepath.Join(t.TempDir(), "nope"))
	if err != nil || len(got) != 0 {
		t.Fatalf("Load(missing) = %v, %v", got, err)
	}
	if got, err := Load(""); err != nil || got != nil {
		t.Fatalf("Load(\"\") = %v, %v", got, err)
	}
}

func TestFindAndBackground(t *testing.T) {
	if _, ok := Find("nope", nil); ok {
		t.Error("found a theme that does not exist")
	}
	if ForBackground(true).Name != DarkName || ForBackground(false).Name != LightName {
		t.Error("ForBackground picks the wrong theme")
	}
	if Default().Name != DarkName {
		t.Error("default is not dark")
	}
}

func TestColorValue(t *testing.T) {
	for _, c := range []string{"#abc", "#A0b1C2", "0", "255", ""} {
		if !valid(c) {
			t.Errorf("%q rejected", c)
		}
	}
	for _, c := range []string{"256", "#abcd", "red", "#ggg", "-1"} {
		if valid(c) {
			t.Errorf("%q accepted", c)
		}
	}
}
