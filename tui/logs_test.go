package tui

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/components/detail"
)

// The tests below drive the Logs tab against a real supervisor: search,
// filters, the new-lines marker, fullscreen, saving and lifecycle markers.

// rawLine is the first line of the console's screen, with its styles, whose
// plain text contains want; "" when none does.
func (c *console) rawLine(want string) string {
	var raw string
	c.inspect(func(m *Model) { raw = m.View().Content })
	for _, l := range strings.Split(raw, "\n") {
		if strings.Contains(ansi.Strip(l), want) {
			return l
		}
	}
	return ""
}

// TestLogsStderrStyleByLevel: a stderr line that says its level (the SDK's
// slog lines do) is drawn by that level; only error levels and lines with no
// level are drawn as errors.
func TestLogsStderrStyleByLevel(t *testing.T) {
	r := startRig(t, true)
	r.waitState("echo", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 160, 40)
	c.waitFor("chaos: stderr line 2")
	errPrefix := c.m.c.Styles.Stderr.Render("err ")
	if l := c.rawLine("chaos: stderr line 2"); !strings.Contains(l, errPrefix) {
		t.Fatalf("a stderr line with no level is not drawn as an error: %q", l)
	}
	c.press(":")
	c.typeText("stop echo") // the SDK logs "shutting down" at INFO on stderr
	c.press("enter")
	r.waitState("echo", supervisor.StateStopped)
	c.press("j")
	c.waitFor("level=INFO")
	if l := c.rawLine("level=INFO"); strings.Contains(l, errPrefix) {
		t.Errorf("a stderr line at INFO is drawn as an error: %q", l)
	}
}

// TestLogsMatchCount: the logs status line counts matches in words that
// agree with the number.
func TestLogsMatchCount(t *testing.T) {
	r := startRig(t, true)
	r.waitState("chaos", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 160, 40)
	c.waitFor("chaos: stderr line 2")
	c.press(":")
	c.typeText("send chaos 4 1") // one "stderr task" line
	c.press("enter")
	c.waitFor("chaos answered task 4")
	c.press("1", "tab") // a task sent shows the Tasks tab; / on the table filters plugins
	c.press("/")
	c.typeText("=stderr task")
	c.press("enter")
	c.waitFor("filter stderr task", " 1 match ")
	c.press(":")
	c.typeText("send chaos 4 10")
	c.press("enter")
	c.waitFor("chaos answered task 4")
	c.press("1")
	c.waitFor("11 matches")
}

// logRows are the screen's log lines of the detail pane, the status line
// left out.
func logRows(screen string) []string {
	var out []string
	for _, l := range strings.Split(screen, "\n") {
		t := strings.Trim(l, "│ ")
		if strings.HasPrefix(t, "out ") || strings.HasPrefix(t, "err ") || strings.HasPrefix(t, "── ") {
			out = append(out, t)
		}
	}
	return out
}

// TestLogsSearch: / searches by regular expression; every line stays, the
// matches are highlighted, the view goes to the nearest and n/N step
// through them, wrapping around.
func TestLogsSearch(t *testing.T) {
	r := startRig(t, true)
	r.waitState("chaos", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 160, 40)
	c.waitFor("chaos: stderr line 20")
	c.press("tab", "/")
	c.typeText(`LINE 1[0-4]$`) // case ignored: lines 10 to 14
	c.press("enter")
	s := c.waitFor("search LINE 1[0-4]$", "match 5/5", "follow off")
	if !strings.Contains(s, "chaos: stderr line 9") || !strings.Contains(s, "chaos: stderr line 15") {
		t.Errorf("a search hid the lines around its matches:\n%s", s)
	}
	hl := c.m.c.Styles.Highlight.Render("line 12")
	if l := c.rawLine("chaos: stderr line 12"); !strings.Contains(l, hl) {
		t.Errorf("match not highlighted: %q", l)
	}
	if l := c.rawLine("chaos: stderr line 11 "); strings.Contains(l, c.m.c.Styles.Highlight.Render("line 11 ")) {
		t.Errorf("a line that does not match is highlighted: %q", l)
	}
	c.press("N")
	c.waitFor("match 4/5")
	c.press("N", "N", "N")
	c.waitFor("match 1/5")
	c.press("N") // wraps to the newest
	c.waitFor("match 5/5")
	c.press("n") // and back to the oldest
	c.waitFor("match 1/5")
	// The search is kept while the view scrolls, and esc clears it.
	c.press("esc")
	c.waitScreen("search cleared", func(s string) bool { return !strings.Contains(s, "search LINE") })
	c.press("n")
	c.waitFor("no search to step through")
}

// TestLogsSearchInvalidRegex: text that does not compile is matched
// literally, and the input says so rather than the flash line.
func TestLogsSearchInvalidRegex(t *testing.T) {
	r := startRig(t, true)
	r.waitState("chaos", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 160, 40)
	c.waitFor("chaos: stderr line 2")
	c.press("tab", "/")
	c.typeText("line (")
	s := c.waitFor("/ (not a regex: literal) line (", "search line ( no match")
	if strings.Contains(s, "✖") {
		t.Errorf("an invalid regular expression flashed an error:\n%s", s)
	}
	c.press("backspace", "backspace")
	c.waitScreen("valid again", func(s string) bool {
		return !strings.Contains(s, "not a regex") && strings.Contains(s, "search line match")
	})
}

// TestLogsFilterForms: =TEXT keeps matching lines, !TEXT hides them, -f
// TEXT keeps lines holding its characters in order.
func TestLogsFilterForms(t *testing.T) {
	r := startRig(t, true)
	r.waitState("chaos", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 160, 40)
	c.waitFor("chaos: stderr line 30")
	c.press(":")
	c.typeText("send chaos 4 2") // two "stderr task" lines
	c.press("enter")
	c.waitFor("chaos answered task 4")
	c.press("1", "tab", "/")
	c.typeText("!stderr line")
	c.press("enter")
	s := c.waitFor("hide stderr line", "lines hidden", "stderr task")
	for _, l := range logRows(s) {
		if strings.Contains(l, "stderr line") {
			t.Errorf("an inverse filter shows a matching line: %q", l)
		}
	}
	c.press("/", "ctrl+u")
	c.typeText("-f ln17")
	c.press("enter")
	s = c.waitFor("fuzzy ln17", "chaos: stderr line 17")
	re := regexp.MustCompile(`stderr line (\d+)`)
	for _, l := range logRows(s) {
		m := re.FindStringSubmatch(l)
		if m == nil || !regexp.MustCompile(`1.*7`).MatchString(m[1]) {
			t.Errorf("a fuzzy filter for ln17 shows %q", l)
		}
	}
}

// TestLogsNewLinesMarker: with follow off, the lines that arrive are
// counted at the bottom; G (or f) goes to them and follows again.
func TestLogsNewLinesMarker(t *testing.T) {
	r := startRig(t, true)
	r.waitState("chaos", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 120, 40)
	c.waitFor("chaos: stderr line 2")
	c.press("tab", "f")
	newLines := regexp.MustCompile(`\+\d+ new lines? · f or G shows them`)
	c.waitScreen("the new-lines marker", func(s string) bool { return newLines.MatchString(s) && strings.Contains(s, "follow off") })
	c.press("G")
	c.waitScreen("following, no marker", func(s string) bool { return !newLines.MatchString(s) && strings.Contains(s, "follow on") })
	c.press("k") // scrolling up stops following too
	c.waitScreen("the new-lines marker", func(s string) bool { return newLines.MatchString(s) })
	c.press("f")
	c.waitScreen("following, no marker", func(s string) bool { return !newLines.MatchString(s) && strings.Contains(s, "follow on") })
}

// TestLogsFullscreen: F gives the Logs tab the whole body at 80x24, the
// header and footer staying; F again brings the table back.
func TestLogsFullscreen(t *testing.T) {
	r := startRig(t, true)
	r.waitState("chaos", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 80, 24)
	c.waitFor("Plugins 3", "chaos: stderr line 2")
	c.press("F")
	s := c.waitScreen("fullscreen logs", func(s string) bool { return !strings.Contains(s, "Plugins 3") })
	lines := strings.Split(s, "\n")
	if len(lines) != 24 {
		t.Fatalf("%d lines at 80x24", len(lines))
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != 80 {
			t.Errorf("line %d is %d cells wide: %q", i+1, w, l)
		}
	}
	if !strings.Contains(lines[0], "plugvisor") || !strings.Contains(lines[2], "1 Logs") || !strings.Contains(lines[22], "help") {
		t.Errorf("header, pane title or footer missing:\n%s", s)
	}
	if !strings.HasPrefix(lines[21], "╰") {
		t.Errorf("the logs pane does not reach the footer:\n%s", s)
	}
	// 20 rows of body: the pane's borders, its status line and 17 lines.
	c.waitScreen("17 log rows", func(s string) bool { return len(logRows(s)) == 17 })
	c.press("F")
	c.waitFor("Plugins 3", "NAME")
}

// TestLogsSave: ctrl+s writes what the filter shows to a new 0600 file in
// a 0700 directory under $XDG_STATE_HOME, and says where.
func TestLogsSave(t *testing.T) {
	r := startRig(t, true)
	r.waitState("chaos", supervisor.StateRunning)
	home := t.TempDir()
	env := func(k string) string { return map[string]string{"HOME": home, "XDG_STATE_HOME": home + "/state"}[k] }
	c := newConsole(t, r.sup, Options{Theme: "dark", getenv: env}, 200, 40)
	c.waitFor("chaos: stderr line 5")
	c.press("tab", "/")
	c.typeText("=stderr line")
	c.press("enter")
	c.waitFor("filter stderr line")
	c.tm.Send(tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl})
	dir := filepath.Join(home, "state", "plugvisor", "logs")
	// The flash says the path, the home directory as ~.
	flash := regexp.MustCompile(`saved (\d+) lines to ~/state/plugvisor/logs/(chaos-\d{8}-\d{6}\.log)`)
	s := c.waitScreen("saved", func(s string) bool { return flash.MatchString(s) })
	m := flash.FindStringSubmatch(s)
	m[2] = filepath.Join(dir, m[2])
	data, err := os.ReadFile(m[2])
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if strconv.Itoa(len(lines)) != m[1] {
		t.Errorf("%d lines in the file, the flash says %s", len(lines), m[1])
	}
	for _, l := range lines {
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\S+ stderr chaos: stderr line \d+$`).MatchString(l) {
			t.Errorf("line not shown by the filter, or badly written: %q", l)
		}
	}
	for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, m[2]: 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode(), err, want)
		}
	}
}

// TestWriteLogsRefusesLinks: a file or link already where the logs are to
// go is neither replaced nor written through.
func TestWriteLogsRefusesLinks(t *testing.T) {
	dir := mkdir(filepath.Join(t.TempDir(), "plugvisor"))
	at := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "logs"), 0o700); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(dir, "logs", "echo.0-20260102-030405.log")
	if err := os.Symlink(victim, planted); err != nil {
		t.Fatal(err)
	}
	lines := []supervisor.LogLine{{Time: at, Stream: supervisor.Stdout, Text: "hi \x1b[31mred"}}
	path, err := writeLogs(dir, "echo.0", at, lines)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "logs", "echo.0-20260102-030405-2.log"); path != want {
		t.Fatalf("wrote %s, want %s beside the planted link", path, want)
	}
	if got, _ := os.ReadFile(victim); string(got) != "keep\n" {
		t.Errorf("the link's target was written: %q", got)
	}
	got, _ := os.ReadFile(path)
	if want := "2026-01-02T03:04:05.006Z stdout hi \\x1b[31mred\n"; string(got) != want {
		t.Errorf("file holds %q, want %q", got, want)
	}
}

// TestWriteLogsRefusesLooseDirs: saved logs go only into directories of
// this user's that are closed to others and are not symlinks.
func TestWriteLogsRefusesLooseDirs(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lines := []supervisor.LogLine{{Time: at, Stream: supervisor.Stdout, Text: "secret"}}
	for name, setup := range map[string]func(state string) error{
		"logs dir a symlink": func(state string) error {
			elsewhere := filepath.Join(filepath.Dir(state), "elsewhere")
			if err := os.Mkdir(elsewhere, 0o700); err != nil {
				return err
			}
			if err := os.Mkdir(state, 0o700); err != nil {
				return err
			}
			return os.Symlink(elsewhere, filepath.Join(state, "logs"))
		},
		"logs dir 0755": func(state string) error {
			if err := os.Mkdir(state, 0o700); err != nil {
				return err
			}
			return os.Chmod(mkdir(filepath.Join(state, "logs")), 0o755)
		},
		"state dir 0755": func(state string) error { return os.Chmod(mkdir(state), 0o755) },
	} {
		t.Run(name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "plugvisor")
			if err := setup(state); err != nil {
				t.Fatal(err)
			}
			if path, err := writeLogs(state, "echo", at, lines); err == nil {
				t.Fatalf("wrote %s", path)
			}
		})
	}
	state := filepath.Join(t.TempDir(), "plugvisor")
	if _, err := writeLogs(state, "echo", at, lines); err != nil {
		t.Fatalf("a fresh state dir: %v", err)
	}
}

func mkdir(dir string) string {
	_ = os.Mkdir(dir, 0o700)
	return dir
}

// TestLogsLifecycleMarkers: each state change shows in the log stream as a
// marker line with its reason.
func TestLogsLifecycleMarkers(t *testing.T) {
	r := startRig(t, false)
	c := newConsole(t, r.sup, Options{}, 160, 40)
	c.waitFor("ticker")
	c.press("s") // chaos
	c.waitFor("── starting", "── running: registered (pid")
	c.press(":")
	c.typeText("send chaos 1 exit") // a crash: exit 1
	c.press("enter")
	c.press("1")
	// Output goes on between the markers: filter them out of it. The
	// backoff joins the exit's marker unless a line of output came between
	// them (the output readers are not the supervisor's goroutine).
	c.press("tab", "/")
	c.typeText("=^(exited|backoff|starting|running)")
	c.press("enter")
	want := regexp.MustCompile(`^── starting: started by operator ──\n── running: registered \(pid \d+, protocol v\d+\) ──\n` +
		`── exited: exit 1( \(disconnected\))?( · | ──\n── backoff: )restart 1 in \S+ ──\n── starting: backoff elapsed ──\n── running: registered`)
	s := c.waitScreen("the markers of a start, a crash and a restart", func(s string) bool {
		return want.MatchString(strings.Join(logRows(s), "\n"))
	})
	style := c.m.c.Styles.State(supervisor.StateExited).Bold(true)
	if l := c.rawLine("── exited: exit 1"); !strings.Contains(l, style.Render("── ")) || !strings.Contains(l, style.Render(" ──")) {
		t.Errorf("marker not drawn in its state's style: %q\n%s", l, s)
	}
}

// BenchmarkFrameLogsSearch is BenchmarkFrame's changed-logs case with each
// kind of logs search on: a new line is matched once, not the whole buffer
// every frame.
func BenchmarkFrameLogsSearch(b *testing.B) {
	r := bigRig(b)
	m := benchModel(b, r.sup, benchW, benchH)
	sel := m.store.Order()[0]
	name := m.store.Plugin(sel).Status.Name
	m.focus = paneDetail
	m.detail.SetTab(detail.TabLogs)
	for _, q := range []string{"", "line [0-9]+7$", "=line [0-9]+7$", "!line", "-f ln7"} {
		b.Run("search="+q, func(b *testing.B) {
			m.detail.SetFilter(q)
			m.detail.FindNearest(m.store)
			for i := 0; b.Loop(); i++ {
				m.store.Apply([]supervisor.Event{
					{Type: supervisor.EventLog, Plugin: name, Instance: sel, Log: supervisor.LogLine{Time: time.Now(), Text: "new line " + strconv.Itoa(i)}},
				})
				_ = m.View()
			}
		})
	}
}
