package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each snippet is the whole config after a valid [agent] work_dir line; its
// errors must be exactly want ("line: key: msg", {dir} for the config dir).
func TestDecodeMessages(t *testing.T) {
	dir := t.TempDir()
	exe := writeScript(t, dir, "p", "true")
	plugin := fmt.Sprintf("[plugins.p]\nexec = %q\nsha256 = %q\n", exe, sha256Hex("p"))
	host, _ := os.Hostname()
	for _, c := range []struct {
		name, toml string
		want       []string
	}{
		{"empty path", `socket = ""`, []string{`3: agent.socket: must not be empty`}},
		{"size as integer", "max_frame = 2048\nlog_max_size = -5", []string{`4: agent.log_max_size: must not be negative, got -5`}},
		{"size of wrong type", "max_frame = 1.5", []string{`3: agent.max_frame: must be a size such as "10MiB", got float 1.5`}},
		{"table for string", `name = { first = "a" }`, []string{`3: agent.name: must be a string, got a table`}},
		{"array for bool", "[plugins.q]\nauto_start = [true]", []string{
			`3: plugins.q.exec: required: the path of the plugin's executable`,
			`3: plugins.q.sha256: required`,
			`4: plugins.q.auto_start: must be true or false, got an array`}},
		{"datetime", "theme = 2024-01-02T03:04:05Z", []string{`3: agent.theme: must be a string, got a time.Time`}},
		{"largest integer", "log_backups = 9223372036854775807", nil},
		{"empty manifest dir", `manifest_dirs = [""]`, []string{`3: agent.manifest_dirs[0]: must not be empty`}},
		{"manifest dir twice", `manifest_dirs = [".", "./"]`, []string{`3: agent.manifest_dirs[1]: {dir} is listed twice`}},
		{"unknown sub-table", "[agent.x]", []string{`3: agent.x: unknown key`}},
		{"env of wrong type", plugin + `env = ["A=1"]`, []string{`6: plugins.p.env: must be a table of strings, got an array`}},
		{"default host is blamed on [hosts]", "[hosts.x]\nplugins = []", []string{
			`3: agent.host: host "{host}" is not in [hosts] (which has x): set agent.host or add [hosts.{host}]`}},
		{"hosts empty", "host = \"h\"\n[hosts]", []string{
			`3: agent.host: host "h" is not in [hosts] (which is empty): set agent.host or add [hosts.h]`}},
		{"hosts entry of wrong type", "host = \"h\"\n[hosts]\nh = 3", []string{
			`3: agent.host: host "h" is not in [hosts] (which is empty): set agent.host or add [hosts.h]`,
			`5: hosts.h: must be a table, got integer 3`}},
		{"duplicate key", "name = \"a\"\nname = \"b\"", []string{`4:12: Key 'agent.name' has already been defined.`}},
		{"exec relative to config", plugin + "[plugins.r]\nexec = \"p\"\nsha256 = \"" + sha256Hex("r") + "\"", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := "[agent]\nwork_dir = \"/tmp/pv\"\n" + c.toml + "\n"
			path := filepath.Join(dir, "c.toml")
			_, err := Parse(path, []byte(src))
			var got []string
			if err != nil {
				got = strings.Split(strings.ReplaceAll(err.Error(), path+":", ""), "\n")
			}
			want := make([]string, len(c.want))
			for i, w := range c.want {
				want[i] = strings.NewReplacer("{dir}", dir, "{host}", host).Replace(w)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("config:\n%s\ngot:\n\t%s\nwant:\n\t%s", src, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"exec", "env", "restart", "instances", "auto_start"}
	for name, want := range map[string]string{
		"exce":      ` (did you mean "exec"?)`,
		"autostart": ` (did you mean "auto_start"?)`,
		"instance":  ` (did you mean "instances"?)`,
		"x":         ``,
		"timeout":   ``,
	} {
		if got := suggest(name, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", name, got, want)
		}
	}
}
