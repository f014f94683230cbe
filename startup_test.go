package main

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// Budgets for the plugvisor binary's package initialisation, which every
// start pays: each ctl call, each demo plugin run as `plugvisor plugin
// NAME`, each watchdog. They are in bytes allocated, which the runtime
// reports exactly and which no load on the machine can change, rather than
// in milliseconds: a dependency that builds a table at init (as
// go-runewidth's did, 50 ms and megabytes) fails here at once.
//
// Init, not the binary's size, is most of what these starts cost (see
// BENCHMARKS.md, "Start-up"): the echo plugin with nothing but the
// dependencies' inits linked in starts as slowly as plugvisor. Today's
// figures are set by the fleet link's dependencies and the demo's server:
// the Prometheus client registers its default Go and process collectors in
// init (its procfs compiles two dozen regexps there, 94 KiB), nats.go's
// micro and encoders packages build theirs, and the embedded nats-server
// of `plugvisor fleet --demo` compiles its expressions and samples
// /proc/self/stat, in every start, since Go runs the init of every package
// linked; a build with -tags nonatsserver drops it (and 14 MB).
//
// So the budgets hold each package, and each module, by name where it is
// over the default: a new dependency whose init allocates more than a
// little fails here, by its module's name, before its cost is spread over
// every start.
const (
	maxInitBytes      = 768 << 10 // all packages together; about 670 KiB today, 464 KiB without nats-server
	maxInitBytesOnePk = 128 << 10 // any one package; the largest (procfs) is about 94 KiB today
	// natsServerPkg may take maxInitBytesNATS, no more.
	natsServerPkg    = "github.com/nats-io/nats-server/v2/server"
	maxInitBytesNATS = 224 << 10

	// maxInitBytesModule is what any module's packages may allocate at init
	// together, but those in moduleInitBudgets; the largest of the others
	// (client_model, nats-io/jwt, nkeys) is about 13 KiB today.
	maxInitBytesModule = 24 << 10
	// ownModule is plugvisor's own packages, held tighter: about 4 KiB today.
	ownModule = "github.com/plugvisor/plugvisor"
	stdModule = "std"
)

// moduleInitBudgets are the modules over maxInitBytesModule, each with
// room over today's figure (in the comment), so that what grows is seen.
var moduleInitBudgets = map[string]int64{
	ownModule:                              16 << 10,
	stdModule:                              160 << 10, // 124 KiB, 101 packages
	"github.com/nats-io/nats-server/v2":    232 << 10, // 181 KiB
	"github.com/prometheus/procfs":         120 << 10, // 94 KiB
	"github.com/prometheus/client_golang":  104 << 10, // 82 KiB
	"github.com/nats-io/nats.go":           56 << 10,  // 42 KiB
	"github.com/klauspost/compress":        48 << 10,  // 35 KiB
	"github.com/charmbracelet/ultraviolet": 28 << 10,  // 20 KiB
}

// TestPackageInitStaysSmall runs the binary with GODEBUG=inittrace=1 and
// holds every package's init to the budgets.
func TestPackageInitStaysSmall(t *testing.T) {
	cmd := exec.Command(testutil.Bin("plugvisor"), "--help")
	cmd.Env = append(cmd.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	_ = cmd.Run() // --help may exit non-zero; the trace is what counts
	inits, err := parseInitTrace(stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(inits) < 10 {
		t.Fatalf("only %d init lines in the trace; is inittrace still supported?\n%s", len(inits), stderr.String())
	}
	var total int64
	for _, in := range inits {
		total += in.bytes
		budget := int64(maxInitBytesOnePk)
		if in.pkg == natsServerPkg {
			budget = maxInitBytesNATS
		}
		if in.bytes > budget {
			t.Errorf("init of %s allocates %d bytes (%d allocs), over the %d budget: every start of plugvisor pays it; make it lazy", in.pkg, in.bytes, in.allocs, budget)
		}
	}
	t.Logf("%d packages initialised, %d bytes allocated in all", len(inits), total)
	if total > maxInitBytes {
		t.Errorf("package init allocates %d bytes in all, over the %d budget", total, maxInitBytes)
	}
	checkModuleInits(t, inits)
}

// checkModuleInits holds each module's packages together to its budget.
func checkModuleInits(t *testing.T, inits []packageInit) {
	t.Helper()
	info, err := buildinfo.ReadFile(testutil.Bin("plugvisor"))
	if err != nil {
		t.Fatal(err)
	}
	modules := []string{info.Main.Path}
	for _, dep := range info.Deps {
		modules = append(modules, dep.Path)
	}
	byModule := map[string]int64{}
	for _, in := range inits {
		byModule[moduleOf(in.pkg, modules)] += in.bytes
	}
	if byModule[ownModule] == 0 && byModule[stdModule] == 0 {
		t.Fatalf("no init of plugvisor's packages or the standard library in the trace: the module of each package is not found")
	}
	for mod, bytes := range byModule {
		budget, named := moduleInitBudgets[mod]
		if !named {
			budget = maxInitBytesModule
		}
		if bytes > budget {
			t.Errorf("init of module %s allocates %d bytes, over its %d budget: every start of plugvisor pays it; make it lazy, or do without the dependency (BenchmarkStartup with PLUGVISOR_STARTUP_EXTRA prices it)", mod, bytes, budget)
		}
	}
}

// moduleOf is the module of pkg among modules (the longest that is a path
// prefix of it), or stdModule.
func moduleOf(pkg string, modules []string) string {
	if pkg == "main" {
		return ownModule // inittrace names the main package so
	}
	best := stdModule
	for _, m := range modules {
		if (pkg == m || strings.HasPrefix(pkg, m+"/")) && (best == stdModule || len(m) > len(best)) {
			best = m
		}
	}
	return best
}

// packageInit is one line of GODEBUG=inittrace=1:
//
//	init github.com/x/y @2.6 ms, 0.56 ms clock, 69096 bytes, 978 allocs
type packageInit struct {
	pkg           string
	clock         time.Duration
	bytes, allocs int64
}

func parseInitTrace(trace string) ([]packageInit, error) {
	var out []packageInit
	sc := bufio.NewScanner(strings.NewReader(trace))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "init ") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 11 || f[8] != "bytes," || f[10] != "allocs" {
			return nil, fmt.Errorf("unexpected inittrace line %q", line)
		}
		ms, err0 := strconv.ParseFloat(f[4], 64)
		b, err1 := strconv.ParseInt(f[7], 10, 64)
		a, err2 := strconv.ParseInt(f[9], 10, 64)
		if err0 != nil || err1 != nil || err2 != nil || f[6] != "clock," {
			return nil, fmt.Errorf("unexpected inittrace line %q", line)
		}
		out = append(out, packageInit{pkg: f[1], clock: time.Duration(ms * float64(time.Millisecond)), bytes: b, allocs: a})
	}
	return out, sc.Err()
}
