package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/internal/percentile"
	"github.com/plugvisor/plugvisor/internal/testutil"
)

// maxInitClock is what BenchmarkStartup lets package init take, the least
// of its runs: a few milliseconds where go-runewidth's table once took 50.
// It is a benchmark's bound, not a test's: CI holds init to its byte budget
// (TestPackageInitStaysSmall), which no load can move.
const maxInitClock = 10 * time.Millisecond

// BenchmarkStartup measures what starting the plugvisor binary costs where
// a user feels it, each against an anchor in the same run, alternating:
//
//   - ctl: `plugvisor ctl status` against a running supervisor, next to
//     ctlonly, the same command built without the console;
//
//   - plugin: spawn → registered of the echo plugin run as `plugvisor
//     plugin echo`, next to the standalone echo binary;
//
//   - init: the binary's package initialisation, from GODEBUG=inittrace=1.
//
//     go test -run '^$' -bench Startup -benchtime 40x -count 3 .
//
// More subjects join the rounds from $PLUGVISOR_STARTUP_EXTRA (see
// extraSubjects): another build of plugvisor, to hold a change against the
// build before it in the same run, or a plugin that links one dependency
// more than echo does, to price that dependency's init.
func BenchmarkStartup(b *testing.B) {
	bins, err := testutil.Build("github.com/plugvisor/plugvisor/bench/ctlonly", "github.com/plugvisor/plugvisor/examples/cmd/echo")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bins.Remove)
	pv := testutil.Bin("plugvisor")
	extra, err := extraSubjects(os.Getenv("PLUGVISOR_STARTUP_EXTRA"))
	if err != nil {
		b.Fatal(err)
	}
	config := ct.Plugin(b, "pv", pv, "args = [\"plugin\", \"echo\"]\nauto_start = false") +
		ct.Plugin(b, "bin", bins.Path("echo"), "auto_start = false")
	for _, x := range extra {
		if x.plugin {
			config += ct.Plugin(b, x.name, x.argv[0], fmt.Sprintf("args = %s\nauto_start = false", tomlStrings(x.argv[1:])))
		}
		settled(b, x.argv[0])
	}
	e := ct.Start(b, config, ct.Options{})
	settled(b, pv, bins.Path("echo"))
	// ctlonly's first argument is the verb; plugvisor's is "ctl", then it.
	ctlStatus := func(bin string, pre ...string) func() error {
		args := append(pre, "--socket", e.Socket, "status")
		return func() error { return exec.Command(bin, args...).Run() }
	}
	spawn := func(name string) func() error {
		return func() error { return e.Sup.Start(context.Background(), name) }
	}
	stop := func(name string) func() error {
		return func() error { return e.Sup.Stop(context.Background(), name) }
	}
	pairs := []*startupPair{
		{name: "ctl", subject: ctlStatus(pv, "ctl"), anchor: ctlStatus(bins.Path("ctlonly"))},
		{name: "plugin", subject: spawn("pv"), anchor: spawn("bin"), undoSubject: stop("pv"), undoAnchor: stop("bin")},
	}
	for _, x := range extra {
		if x.plugin {
			pairs = append(pairs, &startupPair{name: x.name, subject: spawn(x.name), anchor: spawn("bin"), undoSubject: stop(x.name), undoAnchor: stop("bin")})
			continue
		}
		pairs = append(pairs, &startupPair{name: x.name, subject: ctlStatus(x.argv[0], x.argv[1:]...), anchor: ctlStatus(bins.Path("ctlonly"))})
	}
	var inits []time.Duration
	for b.Loop() {
		for _, p := range pairs {
			if err := p.once(); err != nil {
				b.Fatalf("%s: %v", p.name, err)
			}
		}
		d, err := initClock(pv)
		if err != nil {
			b.Fatal(err)
		}
		inits = append(inits, d)
	}
	for _, p := range pairs {
		s, a := percentile.Of(p.subjects, 50), percentile.Of(p.anchors, 50)
		b.ReportMetric(float64(s.Microseconds())/1e3, p.name+"-ms")
		b.ReportMetric(float64(a.Microseconds())/1e3, p.name+"-anchor-ms")
		b.ReportMetric(float64(s)/float64(a), p.name+"/anchor")
	}
	least := percentile.Of(inits, 0)
	b.ReportMetric(float64(least.Microseconds())/1e3, "init-ms")
	if least > maxInitClock {
		b.Errorf("package init of plugvisor takes %v at least, over %v: look at GODEBUG=inittrace=1 %s help", least, maxInitClock, pv)
	}
}

// startupPair is a subject and its anchor, timed one after the other,
// which goes first taking turns: the one timed right after the pair before
// it would otherwise always meet that pair's aftermath (a stopped plugin
// still leaving, its memory being freed).
type startupPair struct {
	name                    string
	subject, anchor         func() error
	undoSubject, undoAnchor func() error // run untimed after each, if set
	subjects, anchors       []time.Duration
}

type startupSide struct {
	run, undo func() error
	into      *[]time.Duration
}

func (p *startupPair) once() error {
	sides := []startupSide{{p.subject, p.undoSubject, &p.subjects}, {p.anchor, p.undoAnchor, &p.anchors}}
	if len(p.subjects)%2 == 1 {
		sides[0], sides[1] = sides[1], sides[0]
	}
	for _, side := range sides {
		t0 := time.Now()
		if err := side.run(); err != nil {
			return err
		}
		*side.into = append(*side.into, time.Since(t0))
		if side.undo != nil {
			if err := side.undo(); err != nil {
				return err
			}
		}
	}
	return nil
}

// initClock is the sum of every package's init clock in one run of bin.
func initClock(bin string) (time.Duration, error) {
	cmd := exec.Command(bin, "--help")
	cmd.Env = append(cmd.Environ(), "GODEBUG=inittrace=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	_ = cmd.Run()
	inits, err := parseInitTrace(stderr.String())
	var sum time.Duration
	for _, in := range inits {
		sum += in.clock
	}
	return sum, err
}

// settled waits until the files are older than the verifier's racy window:
// a binary built seconds ago is hashed again on every start, which an
// installed plugin never is.
func settled(b *testing.B, paths ...string) {
	for _, path := range paths {
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil {
			b.Fatal(err)
		}
		if age := time.Since(time.Unix(st.Ctim.Unix())); age < 3*time.Second {
			time.Sleep(3*time.Second - age)
		}
	}
}

// extraSubject is one more subject for BenchmarkStartup: a command run as
// `ARGV --socket S status` against ctlonly, or a plugin spawned with ARGV
// against the standalone echo.
type extraSubject struct {
	name   string // its metrics' prefix: x1, x2, … in the order given
	plugin bool
	argv   []string
}

// extraSubjects parses $PLUGVISOR_STARTUP_EXTRA: entries separated by
// ";", each "ctl:" or "plugin:" and then an absolute path and its
// arguments, separated by spaces, as in
//
//	ctl:/tmp/old/plugvisor ctl;plugin:/tmp/old/plugvisor plugin echo
func extraSubjects(spec string) ([]extraSubject, error) {
	var out []extraSubject
	for i, entry := range strings.Split(spec, ";") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		kind, cmd, _ := strings.Cut(strings.TrimSpace(entry), ":")
		argv := strings.Fields(cmd)
		if (kind != "ctl" && kind != "plugin") || len(argv) == 0 || !strings.HasPrefix(argv[0], "/") {
			return nil, fmt.Errorf("PLUGVISOR_STARTUP_EXTRA entry %d %q: want ctl:PATH [ARGS] or plugin:PATH [ARGS], PATH absolute", i+1, entry)
		}
		out = append(out, extraSubject{name: fmt.Sprintf("x%d", len(out)+1), plugin: kind == "plugin", argv: argv})
	}
	return out, nil
}

// tomlStrings is ss as a TOML array of strings.
func tomlStrings(ss []string) string {
	quoted := make([]string, len(ss))
	for i, s := range ss {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func TestStartupExtraSubjects(t *testing.T) {
	got, err := extraSubjects(" ctl:/tmp/a/plugvisor ctl ; plugin:/tmp/echo-prom;;plugin:/tmp/a/plugvisor plugin echo")
	if err != nil {
		t.Fatal(err)
	}
	want := []extraSubject{
		{name: "x1", argv: []string{"/tmp/a/plugvisor", "ctl"}},
		{name: "x2", plugin: true, argv: []string{"/tmp/echo-prom"}},
		{name: "x3", plugin: true, argv: []string{"/tmp/a/plugvisor", "plugin", "echo"}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("extraSubjects = %v, want %v", got, want)
	}
	for _, bad := range []string{"ctl:plugvisor ctl", "run:/bin/true", "plugin:", "/tmp/a/plugvisor"} {
		if _, err := extraSubjects(bad); err == nil || !strings.Contains(err.Error(), "PLUGVISOR_STARTUP_EXTRA entry 1") {
			t.Errorf("extraSubjects(%q) = %v, want an error naming entry 1", bad, err)
		}
	}
	if got := tomlStrings([]string{"plugin", `a "b"`}); got != `["plugin", "a \"b\""]` {
		t.Errorf("tomlStrings = %s", got)
	}
}
