package main

import (
	"bufio"
	"bytes"
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
// The fleet link's dependencies set today's figures: the Prometheus client
// registers its default Go and process collectors in init (its procfs
// compiles two dozen regexps there, 94 KiB), and nats.go's micro and
// encoders packages build theirs; none of that can be made lazy from here.
//
// The embedded nats-server of `plugvisor fleet --demo` is the one package
// over the per-package budget, by name: its init allocates about 175 KiB
// (0.3-0.5 ms) in every start, the demo's or not, since Go runs the init
// of every package linked. It is the price of a one-command demo on a
// fresh clone; a build with -tags nonatsserver drops it (and 14 MB).
const (
	maxInitBytes      = 768 << 10 // all packages together; about 670 KiB today, 464 KiB without nats-server
	maxInitBytesOnePk = 128 << 10 // any one package; the largest (procfs) is about 94 KiB today
	// natsServerPkg may take maxInitBytesNATS, no more.
	natsServerPkg    = "github.com/nats-io/nats-server/v2/server"
	maxInitBytesNATS = 224 << 10
)

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
