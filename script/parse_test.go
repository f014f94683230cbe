package script_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/script"
)

func parseString(t *testing.T, text string) (*script.Script, error) {
	t.Helper()
	return script.Parse("t.pvs", strings.NewReader(text))
}

func TestParseSteps(t *testing.T) {
	s, err := parseString(t, `
# a comment
wait echo running timeout 5s
send echo 7 "a \"quoted\"\tline" count 10 rate 50/s concurrency 4 timeout 1s  # trailing comment
expect content == 'a "quoted"	line'
expect data_type matches ^ec
sleep 10ms
start echo
stop echo.1
restart echo
reload
ping echo timeout 2s
send echo 1 it's  fine'
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Steps) != 9 {
		t.Fatalf("%d steps, want 9", len(s.Steps))
	}
	w := s.Steps[0].(*script.WaitStep)
	if w.Name != "echo" || w.State != "running" || w.Timeout != 5*time.Second || w.Line != 3 {
		t.Fatalf("wait %+v", w)
	}
	send := s.Steps[1].(*script.SendStep)
	if send.Content != "a \"quoted\"\tline" || send.ID != 7 || send.Count != 10 || send.Rate != 50 ||
		send.Concurrency != 4 || send.Timeout != time.Second || len(send.Expect) != 2 {
		t.Fatalf("send %+v", send)
	}
	if send.Text != `send echo 7 "a \"quoted\"\tline" count 10 rate 50/s concurrency 4 timeout 1s` {
		t.Fatalf("send text %q: want the line without its comment", send.Text)
	}
	if e := send.Expect[0]; e.Field != "content" || e.Op != "==" || e.Value != "a \"quoted\"\tline" || e.Line != 5 {
		t.Fatalf("expect %+v", e)
	}
	if last := s.Steps[8].(*script.SendStep); last.Content != "its  fine" {
		t.Fatalf("shell-style quoting: %q", last.Content)
	}
}

// TestParseErrorsNameTheLine: every bad script in testdata names the file,
// the line and what was wanted.
func TestParseErrorsNameTheLine(t *testing.T) {
	dir := filepath.Join("..", "testdata", "scripts")
	want := map[string][]string{
		"bad-unknown-step.pvs": {`bad-unknown-step.pvs:3: unknown step "launch"; want one of wait, send, expect`},
		"bad-expect-first.pvs": {"bad-expect-first.pvs:2: expect: must follow a send"},
		"bad-send-args.pvs": {
			`bad-send-args.pvs:3: send: want "send [SELECTOR] NAME ID CONTENT [count N] [rate N/s] [concurrency N] [timeout D]", got 2 arguments`,
			`bad-send-args.pvs:4: send: "-3": want a positive whole number`,
			`bad-send-args.pvs:5: send: rate "fast": want a positive number of tasks a second, like 500/s`,
			`bad-send-args.pvs:6: column 13: unterminated double quote`,
		},
		"bad-regexp.pvs": {"bad-regexp.pvs:2: expect: error parsing regexp: missing closing ): `(unclosed`"},
		"bad-state.pvs":  {`bad-state.pvs:1: wait: unknown state "sleeping"; want one of [stopped starting running`},
	}
	for file, msgs := range want {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		_, err = script.Parse(file, f)
		f.Close()
		if err == nil {
			t.Fatalf("%s parsed without error", file)
		}
		for _, m := range msgs {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%s: error\n%v\nlacks\n%s", file, err, m)
			}
		}
		if got := strings.Count(err.Error(), "\n") + 1; got != len(msgs) {
			t.Errorf("%s: %d errors, want %d:\n%v", file, got, len(msgs), err)
		}
	}
	f, err := os.Open(filepath.Join(dir, "smoke.pvs"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := script.Parse("smoke.pvs", f); err != nil {
		t.Fatalf("smoke.pvs: %v", err)
	}
}

func TestParseSlowestRate(t *testing.T) {
	s, err := parseString(t, "send echo 1 x rate 0.001/s")
	if err != nil || s.Steps[0].(*script.SendStep).Rate != script.MinRate {
		t.Fatalf("the slowest rate: %v", err)
	}
}

func TestParseOptionErrors(t *testing.T) {
	for text, want := range map[string]string{
		"send echo 1 x count 2 count 3":     `t.pvs:1: send: option "count" given twice`,
		"send echo 1 x colour red":          `t.pvs:1: send: unknown option "colour"`,
		"send echo 1 x timeout":             `t.pvs:1: send: option "timeout" needs a value`,
		"send echo x y":                     `t.pvs:1: send: task id "x": want a number`,
		"sleep forever":                     `t.pvs:1: sleep: duration "forever": want a positive Go duration`,
		"start":                             `t.pvs:1: start: want "start NAME", got 0 arguments`,
		"send echo 1 x\nexpect content = y": `t.pvs:2: expect: unknown comparison "="; want ==, contains or matches`,
		"send echo 1 x\nexpect content ==":  `t.pvs:2: expect: want expect FIELD == "TEXT"`,
		`send echo 1 "\q"`:                  `t.pvs:1: column 13: bad quoted string "\q"`,
		// Slower rates would overflow the interval between tasks.
		"send echo 1 x rate 0.0009/s": `t.pvs:1: send: rate "0.0009/s": want a positive number of tasks a second, like 500/s, from 0.001 up`,
		"send echo 1 x rate 1e-10/s":  `t.pvs:1: send: rate "1e-10/s"`,
		"send echo 1 x rate NaN":      `t.pvs:1: send: rate "NaN"`,
	} {
		_, err := parseString(t, text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", text, err, want)
		}
	}
}

// A step may start with a host selector, which no plugin name can be
// mistaken for: scripts without one read as before.
func TestParseHostSelectors(t *testing.T) {
	s, err := parseString(t, "send host=edge-1|edge-2 echo 1 x count 2\nwait * echo running\nsend echo 1 y\nwait env=prod,role=edge echo stopped")
	if err != nil {
		t.Fatal(err)
	}
	send, wait := s.Steps[0].(*script.SendStep), s.Steps[1].(*script.WaitStep)
	plain, labels := s.Steps[2].(*script.SendStep), s.Steps[3].(*script.WaitStep)
	if send.Hosts != "host=edge-1|edge-2" || send.Name != "echo" || send.Content != "x" || send.Count != 2 {
		t.Errorf("send with a selector: %+v", send)
	}
	if wait.Hosts != "*" || wait.Name != "echo" || wait.State != "running" {
		t.Errorf("wait with a selector: %+v", wait)
	}
	if plain.Hosts != "" || plain.Name != "echo" || plain.Content != "y" {
		t.Errorf("send without a selector: %+v", plain)
	}
	if labels.Hosts != "env=prod,role=edge" || labels.Name != "echo" {
		t.Errorf("wait with labels: %+v", labels)
	}
}
