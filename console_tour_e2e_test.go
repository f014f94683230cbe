package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hinshun/vt10x"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/tui/keys"
)

// TestConsoleTour is the console's features in a real terminal: one demo
// plugvisor per size (80x24, 120x40, 160x48, run side by side) in a
// pseudo-terminal read through a terminal emulator, every step asserting
// what the feature puts on the screen (or, for y, the OSC 52 sequence in
// the pty's byte stream) and that no line is wider than the terminal.
// Steps that need chaos in a given state (running, fresh) wait for it and
// try again on its next cycle when its 5 s crash came first, so nothing
// here races with the crash cycle. It takes about 30 s under -race, most
// of it waiting for the demo; it replaces the shorter walk at 80x24 and
// 160x48 that checked a few of these steps.
//
// Feature (issue "the console an operator lives in")   step
//
//	first screen: ticker selected, its log lines           tourFirstScreen
//	footer keeps "? help • q/ctrl+c quit"                  tourFirstScreen
//	? every key, commands, column headers, mouse, scrolls  tourHelp
//	d describe: scrollable, wrapped, full sha256           tourDescribe
//	y copy (OSC 52) in describe and in Logs                tourDescribe, tourLogSearch
//	5 Events (one plugin, a: all, reasons), 6 Supervisor   tourHistory
//	lifecycle markers in Logs (exited · restart in)        tourHistory
//	logs / search, n/N, highlight, regex                   tourLogSearch
//	logs =TEXT, !TEXT inverse, -f fuzzy filters            tourLogSearch
//	F fullscreen logs, w wrap, z timestamps                tourLogSearch
//	ctrl+s saves the logs (0600, under XDG_STATE_HOME)     tourLogSearch
//	f follow off, "+N new lines" marker                    tourNewLines
//	table / fuzzy filter, selection survives it            tourFindAndOrder
//	o/O sort, direction in the header, :sort, selection    tourFindAndOrder
//	natural order of instances (chaos, echo.0, echo.1, …)  tourFindAndOrder
//	selection survives resizes; no rows lost (rough edge)  tourResize
//	minimum-size message whole                             tourResize
//	space marks, bulk restart with one confirmation        tourMarks
//	fresh process shows no old heartbeat age (rough edge)  tourMarks
//	s on running / x on stopped say so (rough edge)        tourMarks
//	t task form, Tasks row with RTT, distinct tokens       tourTasks
//	task form opens empty for another plugin (rough edge)  tourTasks
//	pending task elapsed time, c cancels                   tourPendingTask
//	late heartbeat coloured before the hang                tourLateHeartbeat
//	backoff countdown in the STATE column                  tourBackoff
//	chaos keeps restarting, never stuck in backoff (demo)  tourBackoff
//	Data tab v table per data_type, field filter, export   tourRecords
//	: command history ↑/↓, T theme, kept across runs       tourAttach
//	attach backfills logs, Data records and Tasks history  tourAttach
//	q quits, stops the plugins, leaves nothing behind      end of the tour
//
// Natural sort past echo.9 (echo.2 before echo.10) cannot show here: the
// demo has two echo instances. tui's TestTableNaturalOrder covers it in a
// console of twelve echo instances (echo.9, echo.10, echo.11 in that
// order), and tui/state's TestNatural the comparison itself.
func TestConsoleTour(t *testing.T) {
	// The sizes run side by side, each in a goroutine of its own rather
	// than with t.Parallel, which -parallel (GOMAXPROCS, 2 here) caps:
	// most of a tour is waiting for the demo.
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, size := range [][2]int{{80, 24}, {120, 40}, {160, 48}} {
		wg.Go(func() {
			t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
				tr := startTour(t, size[0], size[1])
				for _, step := range []struct {
					name string
					run  func()
				}{
					{"tourFirstScreen", tr.tourFirstScreen},
					{"tourHelp", tr.tourHelp},
					{"tourDescribe", tr.tourDescribe},
					{"tourHistory", tr.tourHistory},
					{"tourLogSearch", tr.tourLogSearch},
					{"tourFindAndOrder", tr.tourFindAndOrder},
					{"tourResize", tr.tourResize},
					{"tourMarks", tr.tourMarks},
					{"tourTasks", tr.tourTasks},
					{"tourPendingTask", tr.tourPendingTask},
					{"tourLateHeartbeat", tr.tourLateHeartbeat},
					{"tourBackoff", tr.tourBackoff},
					{"tourNewLines", tr.tourNewLines},
					{"tourRecords", tr.tourRecords},
					{"tourAttach", tr.tourAttach},
				} {
					t.Logf("step %s", step.name)
					step.run()
				}
				tr.term.quitStopping(t)
				waitNoLeftovers(t, tr.cmd.Process.Pid, tr.tmp)
			})
		})
	}
}

// tour is one demo console being walked through.
type tour struct {
	t          *testing.T
	w, h       int
	bin        string
	tmp, state string
	env        []string
	cmd        *exec.Cmd
	term       *vterm
}

func startTour(t *testing.T, w, h int) *tour {
	bin := testutil.Bin("plugvisor")
	tmp, home := shortTemp(t, "pvt")
	// A runtime dir of its own: the three sizes each have the demo's
	// control socket, and attach finds it there.
	env := append(demoEnv(home, tmp), "XDG_RUNTIME_DIR="+filepath.Join(tmp, "run"))
	// PV_TRACE_DIR=DIR keeps Bubble Tea's trace of each console (every
	// input read, every frame written) in DIR, to tell a key never read
	// from one read but not acted on.
	if d := os.Getenv("PV_TRACE_DIR"); d != "" {
		env = append(env, fmt.Sprintf("TEA_TRACE=%s/trace-%dx%d.log", d, w, h))
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	tr := &tour{t: t, w: w, h: h, bin: bin, tmp: tmp, state: filepath.Join(home, ".state"), env: env, cmd: cmd}
	tr.term = startInPty(t, cmd, w, h)
	return tr
}

// see waits for the screen to hold every string, then checks its width.
func (tr *tour) see(want ...string) string {
	tr.t.Helper()
	tr.term.waitFor(tr.t, want...)
	return tr.fits()
}

// until waits for cond on the screen, then checks its width.
func (tr *tour) until(what string, cond func(string) bool) string {
	tr.t.Helper()
	tr.term.waitScreen(tr.t, what, cond)
	return tr.fits()
}

func (tr *tour) fits() string {
	tr.t.Helper()
	s := tr.term.screen()
	noWider(tr.t, s, tr.w)
	return s
}

func (tr *tour) keys(k ...string) {
	tr.t.Helper()
	for _, s := range k {
		tr.term.send(tr.t, s)
	}
}

// selected is the instance the detail pane's title names, before its state.
func selected(s string) string {
	if m := titleName.FindStringSubmatch(lineWith(s, "1 Logs")); m != nil {
		return m[1]
	}
	return ""
}

var titleName = regexp.MustCompile(`─ (\S+) [●◐◑○◌✖■]`)

// selectInstance focuses the table and moves to name: g, then j until the
// detail pane names it.
func (tr *tour) selectInstance(name string) {
	tr.t.Helper()
	first := firstRow(tr.term.screen())
	tr.keys("g")
	tr.until("the first row, "+first+", selected", func(s string) bool { return selected(s) == first })
	for range 6 {
		before := selected(tr.term.screen())
		if before == name {
			return
		}
		tr.keys("j")
		tr.until("the selection to move on from "+before, func(s string) bool { return selected(s) != before })
	}
	tr.until(name+" selected", func(s string) bool { return selected(s) == name })
}

// firstRow is the instance the table's first row names.
func firstRow(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.Contains(l, " NAME") && i+1 < len(lines) {
			if f := strings.Fields(strings.NewReplacer("│", " ", "✓", " ").Replace(lines[i+1])); len(f) > 0 {
				return f[0]
			}
		}
	}
	return ""
}

// flat is the screen's text without borders, its words joined by single
// spaces: what a wrapped value reads as.
func flat(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("│", " ", "╭", " ", "╰", " ", "─", " ").Replace(s)), " ")
}

func (tr *tour) tourFirstScreen() {
	tr.see("ticker", "echo.0", "echo.1", "chaos", "● running")
	tr.until("ticker first, with its lines", func(s string) bool {
		return selected(s) == "ticker" && strings.Contains(s, `msg="tick sent"`)
	})
	tr.until("the footer's help and quit", func(s string) bool {
		return strings.HasSuffix(strings.TrimRight(lineWith(s, "? help"), " "), "? help • q/ctrl+c quit")
	})
	if tr.w >= 150 {
		tr.see("at a glance")
	}
	// Keys typed in the console's first second were seen lost (see the
	// report): start once every running plugin has answered a heartbeat.
	tr.until("the first heartbeats", func(s string) bool {
		return strings.HasPrefix(column(s, "ticker", "HEARTBEAT"), "<1s/") && strings.HasPrefix(column(s, "echo.1", "HEARTBEAT"), "<1s/")
	})
}

var describeLine = regexp.MustCompile(`line (\d+)/(\d+)`)

var pagePos = regexp.MustCompile(`(\d+)–(\d+) of (\d+)`)

// tourHelp pages through ? to its end: every key's help, the commands,
// the column headers and the mouse are in it, and it fits.
func (tr *tour) tourHelp() {
	tr.keys("?")
	s := tr.see("Keys", "? or esc closes")
	seen := flat(s)
	for {
		m := pagePos.FindStringSubmatch(s)
		if m == nil || m[2] == m[3] {
			break
		}
		tr.keys("\x1b[6~") // pgdn
		s = tr.until("the help's next page", func(s string) bool {
			n := pagePos.FindStringSubmatch(s)
			return n != nil && n[1] != m[1]
		})
		seen += " " + flat(s)
	}
	for _, g := range keys.Default().Groups() {
		for _, b := range g {
			if h := b.Help(); !strings.Contains(seen, h.Key+" "+h.Desc) {
				tr.t.Errorf("? lacks %q %q", h.Key, h.Desc)
			}
		}
	}
	for _, want := range []string{"Commands", "Table columns", "HEARTBEAT age of the last heartbeat", "RST restarts", "Mouse", "hold shift while dragging"} {
		if !strings.Contains(seen, want) {
			tr.t.Errorf("? lacks %q; it read:\n%s", want, seen)
		}
	}
	tr.keys("\x1b")
	tr.until("help closed", func(s string) bool { return !strings.Contains(s, "? or esc closes") })
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// tourDescribe: d on ticker shows its configuration with the binary's
// whole sha256 (wrapped, never cut), scrolls, and y copies the value under
// the cursor through OSC 52.
func (tr *tour) tourDescribe() {
	b, err := os.ReadFile(tr.bin)
	if err != nil {
		tr.t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	tr.keys("d")
	// Its status line drawn too: the frame is whole.
	s := tr.until("describe with the binary's whole sha256 "+hex.EncodeToString(sum[:]), func(s string) bool {
		return strings.Contains(s, "configuration") && describeLine.MatchString(s) &&
			strings.Contains(strings.ReplaceAll(flat(s), " ", ""), hex.EncodeToString(sum[:]))
	})
	// pgdn moves the cursor a page, then scrolls, to the last line. The
	// view may still grow while it pages (the process's figures come in
	// its first seconds): page until the cursor is on the last line.
	for range 50 {
		m := describeLine.FindStringSubmatch(s)
		if m[1] == m[2] && !strings.Contains(s, "more below") {
			break
		}
		tr.keys("\x1b[6~")
		s = tr.until("describe paged down from "+m[0], func(s string) bool {
			n := describeLine.FindStringSubmatch(s)
			return n != nil && (n[0] != m[0] || n[1] == n[2])
		})
	}
	if m := describeLine.FindStringSubmatch(s); m == nil || m[1] != m[2] || strings.Contains(s, "│ configuration") {
		tr.t.Errorf("describe did not scroll to its end:\n%s", s)
	}
	before := len(tr.term.oscs())
	tr.keys("y")
	tr.until("a copied value", func(s string) bool { return strings.Contains(s, "copied") })
	tr.copied(before)
	tr.keys("\x1b")
	tr.until("describe closed", func(s string) bool { return strings.Contains(s, "1 Logs") })
}

// copied checks that an OSC 52 clipboard sequence came after the first
// before ones, and that the flash line's preview is its text.
func (tr *tour) copied(before int) string {
	tr.t.Helper()
	var text string
	if !testutil.Until(30e9, func() bool {
		o := tr.term.oscs()
		for _, c := range o[min(before, len(o)):] {
			if t, ok := clipboard(c); ok {
				text = t
				return true
			}
		}
		return false
	}) {
		tr.t.Fatalf("no OSC 52 in the pty's output after y; flash: %s", lineWith(tr.term.screen(), "copied"))
	}
	if text == "" {
		tr.t.Errorf("OSC 52 copied nothing")
	}
	preview := lineWith(tr.term.screen(), "copied")
	head := []rune(text)[:min(12, len([]rune(text)))]
	if !strings.Contains(preview, string(head)) {
		tr.t.Errorf("flash %q does not preview the copied %q", preview, text)
	}
	return text
}

func (tr *tour) tourHistory() {
	tr.keys("5")
	tr.see("ticker stopped → ◐ starting", "configured", "ticker starting → ● running", "registered (pid")
	// All plugins' events: another plugin's in view (which ones depends on
	// how many times chaos has restarted: newest last, they fill the pane).
	tr.keys("a")
	tr.until("all plugins' events", func(s string) bool {
		return strings.Contains(s, "all plugins · a: selected plugin") && otherEvent.MatchString(s)
	})
	tr.keys("a")
	tr.until("ticker's events only", func(s string) bool {
		return strings.Contains(s, "ticker · a: all plugins") && !otherEvent.MatchString(s)
	})
	tr.keys("6")
	tr.until("the supervisor's log", func(s string) bool {
		return strings.Contains(s, "of the supervisor's log") && strings.Contains(s, "INFO")
	})
	// chaos's crash, then its restart, as one marker in its Logs. The
	// Logs filtered on the markers keep them in view: unfiltered, chaos's
	// next start pushes the marker out of a small pane.
	tr.keys("1")
	tr.selectInstance("chaos")
	tr.keys("\t", "/", "=exited:", "\r")
	tr.until("chaos's exit marker", func(s string) bool { return exitMarker.MatchString(s) })
	tr.keys("\x1b")
	tr.until("the logs unfiltered", logsUnfiltered)
	tr.keys("\t")
}

// otherEvent is an event line of a plugin other than ticker.
var otherEvent = regexp.MustCompile(`(chaos|echo\.[01]) [a-z]+ → `)

// exitMarker is an exit and the restart it leads to in one marker; the
// exit names its note when the engine saw the session end first.
var exitMarker = regexp.MustCompile(`── exited: exit 1( \(disconnected\))? · restart \d+ in [0-9.]+(µs|ms|s|m[0-9.]*s) ──`)

// tourLogSearch: on ticker's Logs, / searches (a regular expression),
// highlights, n/N walk the matches; =, ! and -f filter; F, w, z; ctrl+s
// saves; y copies the last line through OSC 52.
func (tr *tour) tourLogSearch() {
	tr.selectInstance("ticker")
	tr.keys("\t", "/", `tick\s+sent`, "\r")
	// The whole search, not a prefix: the console paints the keys of a
	// search as they are typed, and "tick" alone matches one line more.
	s := tr.until("a search with matches", func(s string) bool { return searchPos.MatchString(s) })
	if !tr.highlighted("tick sent") {
		tr.t.Errorf("no match is highlighted:\n%s", s)
	}
	m := searchPos.FindStringSubmatch(s)
	if atoi(m[1]) > 1 {
		prev := strconv.Itoa(atoi(m[1]) - 1)
		tr.keys("N")
		tr.until("the previous match", func(s string) bool { return strings.Contains(s, "match "+prev+"/") })
		tr.keys("n")
		tr.until("the next match", func(s string) bool { return strings.Contains(s, "match "+m[1]+"/") })
	}
	tr.filterLogs("=tick sent", func(s string) bool {
		return strings.Contains(s, `msg="tick sent"`) && !strings.Contains(s, "── running") && !strings.Contains(s, "ticking:")
	})
	tr.filterLogs("!tick", func(s string) bool {
		return !strings.Contains(s, `msg="tick sent"`) && strings.Contains(s, "── running")
	})
	tr.filterLogs("-f tcksnt", func(s string) bool {
		return strings.Contains(s, `msg="tick sent"`) && !strings.Contains(s, "── running")
	})
	tr.keys("F")
	tr.until("logs full screen", func(s string) bool {
		return !strings.Contains(s, "Plugins 4") && strings.Contains(s, "plugvisor ·") && strings.Contains(s, "1 Logs")
	})
	tr.keys("F")
	tr.see("Plugins 4")
	tr.keys("w", "z")
	tr.until("wrap and time on", func(s string) bool {
		return strings.Contains(s, "wrap on") && strings.Contains(s, "time on") &&
			regexp.MustCompile(`\d\d:\d\d:\d\d\.\d{3} err level=INFO`).MatchString(s)
	})
	tr.keys("w", "z")
	tr.see("wrap off", "time off")
	tr.keys("\x13") // ctrl+s
	s = tr.until("the logs saved", func(s string) bool { return strings.Contains(flat(s), "saved") })
	tr.savedLogs(s)
	before := len(tr.term.oscs())
	tr.keys("y")
	tr.see("copied log line")
	tr.copied(before)
	tr.keys("\x1b") // the -f filter off
	tr.until("the logs unfiltered", logsUnfiltered)
	tr.keys("G", "\t") // follow again; the table focused
}

// logsUnfiltered: the Logs status line names no search or filter.
func logsUnfiltered(s string) bool { return logsStatus.MatchString(s) }

var logsStatus = regexp.MustCompile(`follow o\S+ · wrap o\S+ · time o\S+ · \d+/\d+ lines`)

// searchPos is the Logs status of the tour's whole search, with its place.
var searchPos = regexp.MustCompile(`search tick\\s\+sent match (\d+)/(\d+)`)

// filterLogs types a logs filter and waits for cond, then clears it.
//
// The console paints the keys of a filter as they are typed, so cond is
// waited for only once the Logs status names the whole filter: a prefix
// of it ("=tick s") can satisfy cond while the rest is still to come.
func (tr *tour) filterLogs(f string, cond func(string) bool) {
	tr.t.Helper()
	tr.keys("\x1b")
	tr.until("the logs unfiltered", logsUnfiltered)
	tr.keys("/", f, "\r")
	status := filterStatus(f)
	tr.until("the logs filtered by "+f, func(s string) bool { return strings.Contains(s, status) && cond(s) })
}

// filterStatus is how the Logs status names the filter f.
func filterStatus(f string) string {
	switch {
	case strings.HasPrefix(f, "="):
		return "filter " + f[1:]
	case strings.HasPrefix(f, "!"):
		return "hide " + f[1:]
	case strings.HasPrefix(f, "-f "):
		return "fuzzy " + f[3:]
	}
	return "search " + f
}

// highlighted reports whether some on-screen occurrence of text has a
// background other than the default: the search's highlight.
func (tr *tour) highlighted(text string) bool {
	lines := strings.Split(tr.term.screen(), "\n")
	for y, l := range lines {
		if i := strings.Index(l, text); i >= 0 {
			x := len([]rune(l[:i]))
			if tr.term.cell(x, y).BG != vt10x.DefaultBG {
				return true
			}
		}
	}
	return false
}

// savedLogs checks the file ctrl+s wrote: under the state dir, 0600, with
// ticker's lines.
func (tr *tour) savedLogs(s string) {
	tr.t.Helper()
	dir := filepath.Join(tr.state, "plugvisor", "logs")
	var files []os.DirEntry
	testutil.WaitUntil(tr.t, "a saved log file in "+dir, 30e9, func() bool {
		files, _ = os.ReadDir(dir)
		return len(files) > 0
	})
	p := filepath.Join(dir, files[0].Name())
	fi, err := os.Stat(p)
	if err != nil {
		tr.t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if fi.Mode().Perm() != 0o600 || !strings.Contains(string(b), "tick sent") {
		tr.t.Errorf("saved logs %s: mode %v, content:\n%s", p, fi.Mode(), b)
	}
	if !strings.Contains(strings.ReplaceAll(flat(s), " ", ""), files[0].Name()) {
		tr.t.Errorf("the flash line does not name %s:\n%s", files[0].Name(), s)
	}
}

// tourFindAndOrder: the table's fuzzy filter, sort by column with its
// direction in the header, the instances in natural order, and the
// selection kept through all of them.
func (tr *tour) tourFindAndOrder() {
	tr.selectInstance("echo.1")
	tr.keys("/", "ech1", "\r")
	tr.until("only echo.1", func(s string) bool {
		return strings.Contains(s, "/ech1 1/4") && !strings.Contains(s, "echo.0") && selected(s) == "echo.1"
	})
	tr.keys("\x1b")
	tr.until("every row, echo.1 still selected", func(s string) bool {
		return strings.Contains(s, "Plugins 4") && selected(s) == "echo.1"
	})
	tr.keys("o")
	tr.until("sorted by the next column", func(s string) bool {
		return regexp.MustCompile(`[A-Z/]+▲`).MatchString(lineWith(s, "NAME")) && !strings.Contains(s, "NAME▲") && selected(s) == "echo.1"
	})
	tr.keys("O")
	tr.until("the sort reversed", func(s string) bool { return strings.Contains(lineWith(s, "NAME"), "▼") && selected(s) == "echo.1" })
	tr.keys(":", "sort name desc", "\r")
	tr.until("by name, descending", func(s string) bool {
		return strings.Contains(s, "NAME▼") && rowOrder(s, "ticker", "echo.1", "echo.0", "chaos") && selected(s) == "echo.1"
	})
	tr.keys(":", "sort name asc", "\r")
	tr.until("by name, natural order", func(s string) bool {
		return strings.Contains(s, "NAME▲") && rowOrder(s, "chaos", "echo.0", "echo.1", "ticker") && selected(s) == "echo.1"
	})
}

// rowOrder reports whether the table's rows name these instances in order.
func rowOrder(s string, names ...string) bool {
	at := -1
	for _, n := range names {
		i := strings.Index(s, "│   "+n+" ")
		if i < 0 {
			i = strings.Index(s, "│ ✓ "+n+" ")
		}
		if i <= at {
			return false
		}
		at = i
	}
	return true
}

// tourResize: the selection survives a resize and back; j j j at a small
// size then back loses no row; a terminal under the minimum says so whole.
func (tr *tour) tourResize() {
	tr.term.resize(tr.t, 60, 15)
	tr.until("the small layout", func(s string) bool { return strings.Contains(s, "Plugins 4") })
	tr.term.resize(tr.t, tr.w, tr.h)
	tr.until("back, echo.1 still selected", func(s string) bool {
		return selected(s) == "echo.1" && rowOrder(s, "chaos", "echo.0", "echo.1", "ticker")
	})
	tr.term.resize(tr.t, 60, 15)
	tr.until("the small layout", func(s string) bool { return strings.Contains(s, "Plugins 4") })
	tr.keys("j", "j", "j")
	tr.until("the last row selected", func(s string) bool { return selected(s) == "ticker" })
	tr.term.resize(tr.t, tr.w, tr.h)
	tr.until("every row back in view", func(s string) bool {
		return selected(s) == "ticker" && rowOrder(s, "chaos", "echo.0", "echo.1", "ticker")
	})
	tr.term.resize(tr.t, 30, 6)
	s := tr.term.waitScreenOf(tr.t, "the minimum size said", func(s string) bool { return strings.Contains(s, "needs") })
	noWider(tr.t, s, 30)
	if !regexp.MustCompile(`needs (at least )?\d+x\d+`).MatchString(flat(s)) {
		tr.t.Errorf("the minimum-size message is cut: %q", s)
	}
	tr.term.resize(tr.t, tr.w, tr.h)
	tr.see("Plugins 4")
}

// tourMarks: space marks echo.0 and echo.1, r restarts both after one
// confirmation; their new processes never show the old one's heartbeat
// age; s on a running one and x on a stopped one say there is nothing to do.
func (tr *tour) tourMarks() {
	tr.selectInstance("echo.0")
	s := tr.fits()
	pids := []string{column(s, "echo.0", "PID"), column(s, "echo.1", "PID")}
	tr.keys(" ", "j", " ")
	tr.until("two marks", func(s string) bool { return strings.Contains(s, "✓ echo.0") && strings.Contains(s, "✓ echo.1") })
	tr.keys("r")
	tr.see("Restart 2 instances", "echo.0, echo.1?")
	tr.keys("y")
	tr.until("both restarted", func(s string) bool {
		for _, n := range []string{"echo.0", "echo.1"} {
			// A fresh process has no heartbeat age of its predecessor's.
			if up, hb := column(s, n, "UPTIME"), column(s, n, "HEARTBEAT"); (up == "<1s" || up == "0s") && hb != "-" && !strings.HasPrefix(hb, "<1s/") {
				tr.t.Errorf("%s up %s shows heartbeat %s", n, up, hb)
			}
		}
		return !strings.Contains(rowLine(s, "echo.0"), pids[0]) && !strings.Contains(rowLine(s, "echo.1"), pids[1]) &&
			rowHas(s, "echo.0", "● running") && rowHas(s, "echo.1", "● running")
	})
	tr.keys("\x1b")
	tr.until("marks cleared", func(s string) bool { return !strings.Contains(s, "✓ echo") })
	tr.keys("s")
	tr.see("already running")
	tr.keys("x")
	tr.see("Stop echo.1")
	tr.keys("y")
	tr.until("echo.1 stopped", func(s string) bool { return rowHas(s, "echo.1", "■ stopped") })
	tr.keys("x")
	tr.see("not running")
	tr.keys("s")
	tr.until("echo.1 running again", func(s string) bool { return rowHas(s, "echo.1", "● running") })
}

// column is the value of name's row under the header title: the word
// that overlaps the title's cells (numbers are right-aligned under it,
// words left-aligned).
func column(s, name, title string) string {
	head := lineWith(s, " NAME")
	i := strings.Index(head, " "+title)
	row := []rune(rowLine(s, name))
	if i < 0 || len(row) == 0 {
		return ""
	}
	from := len([]rune(head[:i+1]))
	to := from + len([]rune(title))
	for x := from; x < to && x < len(row); x++ {
		if row[x] == ' ' {
			continue
		}
		a, b := x, x
		for a > 0 && row[a-1] != ' ' {
			a--
		}
		for b < len(row) && row[b] != ' ' {
			b++
		}
		return string(row[a:b])
	}
	return ""
}

// tourTasks: t sends echo.0 two tasks; the Tasks table shows each reply
// with its RTT (not cut, at 80 columns too) and tokens that differ; the
// form for another plugin opens without echo's content.
func (tr *tour) tourTasks() {
	tr.selectInstance("echo.0")
	tr.keys("3")
	for i, content := range []string{"hello pty", "again"} {
		tr.keys("t")
		tr.see("Send a task to echo.0")
		tr.keys("\x15", content, "\r") // ctrl+u empties the content first
		tr.until("the reply to task "+strconv.Itoa(i+1), func(s string) bool {
			return strings.Contains(s, "content="+content) && len(taskRows(s, "echo.0")) == i+1
		})
	}
	s := tr.until("two task rows", func(s string) bool { return len(taskRows(s, "echo.0")) == 2 })
	var tokens []string
	for _, row := range taskRows(s, "echo.0") {
		if !endsWithTime.MatchString(row) {
			tr.t.Errorf("a Tasks row does not end with its RTT: %q", row)
		}
		tokens = append(tokens, taskCell(s, row, "TOKEN"))
	}
	if tokens[0] == "" || tokens[0] == tokens[1] {
		tr.t.Errorf("the TOKEN column does not tell the tasks apart: %q\n%s", tokens, s)
	}
	tr.selectInstance("ticker")
	tr.keys("t")
	s = tr.see("Send a task to ticker", "what to send")
	if strings.Contains(lineWith(s, "content "), "again") {
		tr.t.Errorf("the form for ticker kept echo's content: %q", lineWith(s, "content "))
	}
	tr.keys("\x1b")
	tr.until("the form closed", func(s string) bool { return !strings.Contains(s, "Send a task") })
}

// taskRows is the Tasks table's rows of instance (the flash line names
// the task too, and at 80 columns the rows cut its content).
func taskRows(s, instance string) []string {
	var rows []string
	for _, l := range strings.Split(s, "\n") {
		if f := strings.Fields(strings.TrimPrefix(l, "│")); len(f) > 2 && taskTime.MatchString(f[0]) && f[1] == instance {
			rows = append(rows, strings.TrimRight(l, " "))
		}
	}
	return rows
}

var taskTime = regexp.MustCompile(`^\d\d:\d\d:\d\d`)

// endsWithTime is a Tasks row ending with a duration: a reply's RTT, a
// pending task's time elapsed.
var endsWithTime = regexp.MustCompile(`\d+(\.\d+)?(µs|ms|s) +│$`)

// taskCell is row's cell under title in the Tasks table's header.
func taskCell(s, row, title string) string {
	head := lineWith(s, " INSTANCE ")
	i := strings.Index(head, " "+title)
	r := []rune(row)
	if i < 0 {
		return ""
	}
	from := len([]rune(head[:i+1]))
	if from >= len(r) {
		return ""
	}
	end := from
	for end < len(r) && r[end] != ' ' {
		end++
	}
	return string(r[from:end])
}

// freshChaos waits for chaos to be running in a process at most maxUp
// seconds old (of the 5 it lives), selected in the table, then runs try;
// try reports false when chaos's crash came first, and it is tried again
// on its next cycle.
func (tr *tour) freshChaos(what string, maxUp int, beat bool, try func() bool) {
	tr.t.Helper()
	for range 6 {
		tr.selectInstance("chaos")
		tr.until("chaos freshly running", func(s string) bool {
			up := column(s, "chaos", "UPTIME")
			n, err := strconv.Atoi(strings.TrimSuffix(up, "s"))
			beaten := !beat || strings.HasPrefix(column(s, "chaos", "HEARTBEAT"), "<1s/")
			return rowHas(s, "chaos", "● running") && (up == "<1s" || err == nil && n <= maxUp) && beaten
		})
		if try() {
			return
		}
		tr.t.Logf("%s: chaos crashed first; again on its next cycle", what)
	}
	tr.t.Fatalf("%s: chaos crashed first every time", what)
}

// sendChaos sends chaos task id with content through the form.
func (tr *tour) sendChaos(id, content string) {
	tr.t.Helper()
	tr.keys("t")
	tr.see("Send a task to chaos")
	tr.keys("\x15", content, "\t", "\x15", id, "\r")
	tr.until("the form closed", func(s string) bool { return !strings.Contains(s, "Send a task") })
}

// tourPendingTask: chaos's sleep task waits; its row shows the time
// elapsed, and c cancels it.
func (tr *tour) tourPendingTask() {
	tr.keys("3")
	tr.freshChaos("a pending task", 1, false, func() bool {
		tr.sendChaos("8", "1m")
		var s string
		tr.until("the task pending or ended", func(sc string) bool {
			s = sc
			return taskRow(sc, "pending") != "" || taskRow(sc, "plugin gone") != "" || taskRow(sc, "failed") != ""
		})
		if taskRow(s, "pending") == "" {
			return false
		}
		if !endsWithTime.MatchString(strings.TrimRight(taskRow(s, "pending"), " ")) {
			tr.t.Errorf("a pending row without its time elapsed: %q", taskRow(s, "pending"))
		}
		tr.keys("\t", "c")
		tr.until("the task cancelled or ended", func(sc string) bool {
			s = sc
			return taskRow(sc, "cancelled") != "" || taskRow(sc, "plugin gone") != "" || taskRow(sc, "failed") != ""
		})
		tr.keys("\t")
		return taskRow(s, "cancelled") != ""
	})
}

// taskRow is the Tasks row of chaos's task 8 whose status says outcome.
func taskRow(s, outcome string) string {
	for _, l := range strings.Split(s, "\n") {
		if f := strings.Fields(strings.Trim(l, "│ ")); len(f) > 3 && f[1] == "chaos" && f[2] == "8" && strings.Contains(l, outcome) {
			return l
		}
	}
	return ""
}

// tourLateHeartbeat: chaos hangs (task 2: it stops itself); its HEARTBEAT
// cell takes a warning colour while it is still running, before the engine
// calls it hung.
func (tr *tour) tourLateHeartbeat() {
	tr.freshChaos("a late heartbeat", 2, true, func() bool {
		tr.sendChaos("2", "")
		tr.keys("G") // ticker selected: chaos and echo.0 drawn plain
		coloured, gone := false, false
		tr.until("chaos's heartbeat coloured, or chaos gone", func(s string) bool {
			if !rowHas(s, "chaos", "● running") {
				gone = true
				return true
			}
			coloured = column(s, "chaos", "HEARTBEAT") != "-" && tr.headerFG(s, "chaos") != tr.headerFG(s, "echo.0")
			return coloured
		})
		return coloured && !gone
	})
}

// themeCells is the colours of cells every theme draws whatever the
// plugins do and whatever has focus: the header's first letter and the
// footer's first key.
func (v *vterm) themeCells(h int) string {
	var b strings.Builder
	for _, xy := range [][2]int{{0, 0}, {0, h - 2}} {
		c := v.cell(xy[0], xy[1])
		fmt.Fprintf(&b, "%v/%v ", c.FG, c.BG)
	}
	return b.String()
}

// headerFG is the foreground of name's HEARTBEAT cell's last character.
func (tr *tour) headerFG(s, name string) vt10x.Color {
	head := lineWith(s, " NAME")
	i := strings.Index(head, "HEARTBEAT")
	row := rowLine(s, name)
	for y, l := range strings.Split(s, "\n") {
		if row != "" && strings.HasPrefix(l, row) && i >= 0 {
			return tr.term.cell(len([]rune(head[:i]))+len("HEARTBEAT")-1, y).FG
		}
	}
	return vt10x.DefaultFG
}

// tourBackoff: chaos in backoff says the time to its next start, and it
// keeps coming back (its restarts count up, never stuck in a long
// backoff) where the table has room for RST.
func (tr *tour) tourBackoff() {
	tr.until("chaos's restart countdown", func(s string) bool {
		return regexp.MustCompile(`◌ backoff [0-9.]+m?s`).MatchString(rowLine(s, "chaos"))
	})
	if strings.Contains(lineWith(tr.term.screen(), " NAME"), " RST ") {
		tr.until("chaos restarted twice", func(s string) bool { return restarts(s, "chaos") >= 2 })
	}
}

// tourNewLines: with follow off, lines that arrive out of view are
// counted under the logs; G shows them and follows again.
func (tr *tour) tourNewLines() {
	tr.selectInstance("ticker")
	tr.keys("1", "\t", "f")
	tr.see("follow off")
	// ticker logs a tick every second.
	tr.until("+N new lines", func(s string) bool { return regexp.MustCompile(`\+\d+ new lines?`).MatchString(s) })
	tr.keys("G")
	tr.until("following again", func(s string) bool { return strings.Contains(s, "follow on") && !strings.Contains(s, "new line") })
	tr.keys("\t")
}

// tourRecords: ticker's Data tab as a table of its tick records, filtered
// on a field, exported as JSON lines and CSV.
func (tr *tour) tourRecords() {
	tr.selectInstance("ticker")
	tr.keys("2", "\t")
	tr.see("tick", "records")
	tr.keys("v")
	tr.see("table tick", "INTERVAL", "SEQ")
	tr.keys("/", "seq=1", "\r")
	tr.see("filter seq=1")
	jsonl, csv := filepath.Join(tr.tmp, "ticks.jsonl"), filepath.Join(tr.tmp, "ticks.csv")
	tr.keys(":", "export json "+jsonl, "\r")
	tr.see("exported")
	tr.keys(":", "export csv "+csv, "\r")
	tr.until("the CSV exported", func(s string) bool {
		return strings.Count(flat(s), "exported") > 0 && fileHas(csv, "time,data_type,interval,seq")
	})
	for _, l := range strings.Split(strings.TrimSpace(readFile(tr.t, jsonl)), "\n") {
		if !strings.Contains(l, `"data_type":"tick"`) || !regexp.MustCompile(`"seq":"[^"]*1[^"]*"`).MatchString(l) {
			tr.t.Errorf("exported a record the filter does not show: %s", l)
		}
	}
	// : history walks back through the commands just run.
	tr.keys(":", "\x1b[A")
	tr.see("export csv")
	tr.keys("\x1b[A")
	tr.see("export json")
	tr.keys("\x1b[B")
	tr.see("export csv")
	tr.keys("\x1b")
	tr.until("the command line closed", func(s string) bool {
		return !strings.Contains(lineWith(s, "export csv"), "›") && strings.Contains(s, "v records table")
	})
	tr.keys("v")
	tr.until("the records list", func(s string) bool { return !strings.Contains(s, "table tick") })
	tr.keys("\x1b")
	tr.until("the list unfiltered", func(s string) bool { return recordCount.MatchString(s) })
	tr.keys("\t")
}

func fileHas(path, want string) bool {
	b, _ := os.ReadFile(path)
	return strings.Contains(string(b), want)
}

func readFile(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var recordCount = regexp.MustCompile(`(\d+)/1000 records`)

var themeName = regexp.MustCompile(`theme (\S+)`)

// tourAttach: T changes the theme; a console attached from another
// process (a later run) opens with that theme and the command history,
// and backfills ticker's log lines and records and echo.0's tasks.
func (tr *tour) tourAttach() {
	before := themeName.FindStringSubmatch(lineWith(tr.term.screen(), "plugvisor ·"))
	colours := tr.term.themeCells(tr.h)
	tr.keys("T")
	var theme string
	tr.until("another theme", func(s string) bool {
		m := themeName.FindStringSubmatch(lineWith(s, "plugvisor ·"))
		if m != nil && before != nil && m[1] != before[1] && tr.term.themeCells(tr.h) != colours {
			theme = m[1]
			return true
		}
		return false
	})
	prefs := filepath.Join(tr.state, "plugvisor", "console.json")
	testutil.WaitUntil(tr.t, "the theme saved in "+prefs, 30e9, func() bool { return fileHas(prefs, `"theme": "`+theme+`"`) })
	tr.selectInstance("ticker")
	tr.keys("2")
	s := tr.see("records")
	had := atoi(recordCount.FindStringSubmatch(s)[1])

	cmd := exec.Command(tr.bin, "attach")
	cmd.Env = tr.env
	at := &tour{t: tr.t, w: tr.w, h: tr.h, cmd: cmd, term: startInPty(tr.t, cmd, tr.w, tr.h)}
	at.see("ticker", "echo.0")
	// The attached header names its socket, which cuts the theme's name
	// at 80 columns: its colours tell the theme.
	// Both consoles' cells read at the same moment: a frame read half
	// drawn, in either, is read again.
	at.until("the theme "+theme+" in the attached console", func(s string) bool {
		now := at.term.themeCells(at.h)
		return now != colours && now == tr.term.themeCells(tr.h) &&
			(at.w < 120 || strings.Contains(lineWith(s, "attached to"), "theme "+theme))
	})
	at.selectInstance("ticker")
	at.keys("2")
	at.until("ticker's records from before the attach", func(s string) bool {
		m := recordCount.FindStringSubmatch(s)
		return m != nil && atoi(m[1]) >= had
	})
	at.keys("1", "\t", "g")
	at.see("ticking: a tick record every interval")
	at.keys("\t")
	at.selectInstance("echo.0")
	at.keys("3")
	at.until("echo.0's two tasks from before the attach", func(s string) bool { return len(taskRows(s, "echo.0")) == 2 })
	at.keys(":", "\x1b[A")
	at.see("export csv")
	at.keys("\x1b")
	at.until("the command line closed", func(s string) bool { return strings.Contains(s, "? help") })
	at.keys("q")
	if err := at.term.wait(60e9); err != nil {
		tr.t.Fatalf("attach did not exit: %v\n%s", err, at.term.screen())
	}
	tr.keys("1")
}

// noWider fails when a screen line is wider than the terminal (the
// emulator would wrap it).
func noWider(t *testing.T, screen string, w int) {
	t.Helper()
	for _, l := range strings.Split(screen, "\n") {
		if n := len([]rune(l)); n > w {
			t.Errorf("a line of %d runes on a %d-column terminal: %q", n, w, l)
		}
	}
}

// restarts reads the RST cell of name's row, under the header's RST (the
// column is right-aligned and as wide as its title); -1 when not shown.
func restarts(screen, name string) int {
	var col int = -1
	for _, l := range strings.Split(screen, "\n") {
		r := []rune(l)
		if i := strings.Index(l, " RST "); i >= 0 && col < 0 {
			col = len([]rune(l[:i+1]))
			continue
		}
		if col < 0 || !strings.HasPrefix(strings.TrimLeft(l, "│ "), name+" ") || len(r) < col+3 {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(r[col : col+3])))
		if err != nil {
			return -1
		}
		return n
	}
	return -1
}
