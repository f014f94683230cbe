package registry

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestLimitsString(t *testing.T) {
	for l, want := range map[Limits]string{
		{}: "",
		{MemoryMax: 64 * MiB, CPUMax: 0.25, PidsMax: 32}: "memory_max 64MiB, cpu_max 25%, pids_max 32",
		{MemoryHigh: 48 * MiB, CPUMax: 1.5}:              "memory_high 48MiB, cpu_max 150%",
		{CPUMax: 0.125}:                                  "cpu_max 12.5%",
		{CPUMax: 33.3 / 100}:                             "cpu_max 33.3%",
		{MemoryMax: 2 * GiB, MemoryHigh: 1536 * MiB}:     "memory_max 2GiB, memory_high 1536MiB",
	} {
		if got := l.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", l, got, want)
		}
		if l.IsZero() != (want == "") {
			t.Errorf("%#v.IsZero() = %v", l, l.IsZero())
		}
	}
}

// The agent's limits are every plugin's defaults; a plugin's own key
// replaces the default of that key only, and "none" or pids_max = 0 turns
// it off. Manifests follow the same rule.
func TestLimitsInheritKeyByKey(t *testing.T) {
	dir := t.TempDir()
	exe := writeScript(t, dir, "p", "exit 0")
	plugin := func(name, keys string) string {
		return fmt.Sprintf("[plugins.%s]\nexec = %q\nsha256 = %q\n%s\n", name, exe, sha256Hex(name), keys)
	}
	writeFile(t, filepath.Join(dir, "m", "fromdir", "plugin.toml"),
		fmt.Sprintf("exec = %q\nsha256 = %q\ncpu_max = \"none\"\nmemory_high = \"32MiB\"\n", exe, sha256Hex("m")))
	src := `[agent]
work_dir = "w"
manifest_dirs = ["m"]
memory_max = "64MiB"
memory_high = "48MiB"
cpu_max = "25%"
pids_max = 32
` + plugin("plain", "") +
		plugin("bigger", `memory_max = "1GiB"`+"\ncpu_max = \"12.5%\"") +
		plugin("off", `memory_max = "none"`+"\nmemory_high = \"none\"\ncpu_max = \"none\"\npids_max = 0") +
		plugin("bytes", "memory_max = 2097152\nmemory_high = 1048576")
	cfg, err := Parse(filepath.Join(dir, "c.toml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	def := Limits{MemoryMax: 64 * MiB, MemoryHigh: 48 * MiB, CPUMax: 0.25, PidsMax: 32}
	if cfg.Agent.Limits != def {
		t.Errorf("agent limits = %+v, want %+v", cfg.Agent.Limits, def)
	}
	for name, want := range map[string]Limits{
		"plain":   def,
		"bigger":  {MemoryMax: GiB, MemoryHigh: 48 * MiB, CPUMax: 0.125, PidsMax: 32},
		"off":     {},
		"bytes":   {MemoryMax: 2 * MiB, MemoryHigh: MiB, CPUMax: 0.25, PidsMax: 32},
		"fromdir": {MemoryMax: 64 * MiB, MemoryHigh: 32 * MiB, PidsMax: 32},
	} {
		if got := cfg.Plugin(name).Limits; got != want {
			t.Errorf("%s: limits = %+v (%s), want %+v (%s)", name, got, got, want, want)
		}
	}
}

// memory_high above memory_max is blamed on whichever of the two the
// plugin wrote, saying where the other came from; when both are the
// agent's, only the agent is blamed, once.
func TestLimitsMemoryOrderBlamesTheWrittenKey(t *testing.T) {
	dir := t.TempDir()
	exe := writeScript(t, dir, "p", "exit 0")
	path := filepath.Join(dir, "c.toml")
	for _, c := range []struct{ agent, plugin, want string }{
		{`memory_max = "64MiB"`, `memory_high = "100MiB"`,
			`5: plugins.p.memory_high: memory_high (100MiB) must not exceed memory_max (64MiB, from agent.memory_max)`},
		{`memory_high = "100MiB"`, `memory_max = "64MiB"`,
			`5: plugins.p.memory_max: memory_high (100MiB, from agent.memory_high) must not exceed memory_max (64MiB)`},
		{"memory_high = \"100MiB\"\nmemory_max = \"64MiB\"", ``,
			`3: agent.memory_high: memory_high (100MiB) must not exceed memory_max (64MiB)`},
		// The plugin turned the agent's max off: only the agent is wrong.
		{"memory_high = \"100MiB\"\nmemory_max = \"64MiB\"", `memory_max = "none"`,
			`3: agent.memory_high: memory_high (100MiB) must not exceed memory_max (64MiB)`},
		{`memory_max = "64MiB"`, `memory_high = "64MiB"`, ``},
	} {
		src := fmt.Sprintf("[agent]\nwork_dir = \"w\"\n%s\n[plugins.p]\n%s\nexec = %q\nsha256 = %q\n", c.agent, c.plugin, exe, sha256Hex("p"))
		_, err := Parse(path, []byte(src))
		got := ""
		if err != nil {
			got = strings.ReplaceAll(err.Error(), path+":", "")
		}
		if c.want == "" && got != "" || c.want != "" && !strings.HasPrefix(got, c.want+": it throttles") {
			t.Errorf("config:\n%s\ngot  %s\nwant %s", src, got, c.want)
		}
	}
}
