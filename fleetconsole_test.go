package main

import (
	"flag"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/tui"
)

// TestFleetConsoleFrameRate checks the frame rate the fleet console hands
// the console, from its flags as `plugvisor fleet` parses them: by
// default one whose period leaves a key room under the 50 ms target (the
// local console's tui.FPS does not), --fps to choose another, and a rate
// Bubble Tea would not take refused by name. That Options.FPS is what the
// renderer ticks at is tui's TestRunFrameRate.
func TestFleetConsoleFrameRate(t *testing.T) {
	// A key waits up to one frame period; the rest of the target is for
	// the console's own work and the machine's.
	const target, room = 50 * time.Millisecond, 30 * time.Millisecond
	period := func(fps int) time.Duration { return time.Second / time.Duration(fps) }
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"--nats", "nats://127.0.0.1:4222"}, fleetConsoleFPS},
		{[]string{"--demo", "--fps", "30"}, 30},
	} {
		f, _, err := parseFleetFlags(c.args)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if got := fleetConsoleOptions(f, "t", nil, nil).FPS; got != c.want {
			t.Errorf("%q: the console paints at %d fps, want %d", c.args, got, c.want)
		}
	}
	f, _, _ := parseFleetFlags([]string{"--demo"})
	if p := period(fleetConsoleOptions(f, "t", nil, nil).FPS); p > target-room {
		t.Errorf("the fleet console's frame period %v leaves less than %v of the %v target", p, room, target)
	}
	if period(tui.FPS) <= target-room {
		t.Errorf("tui.FPS %d is no longer the slower local rate this default is chosen against", tui.FPS)
	}
	for _, bad := range []string{"0", "121", "-1"} {
		_, _, err := parseFleetFlags([]string{"--demo", "--fps", bad})
		if err == nil || !strings.Contains(err.Error(), "--fps") {
			t.Errorf("--fps %s: err = %v, want one naming --fps", bad, err)
		}
	}
}

// TestFleetHelpListsEveryFlag runs `plugvisor fleet -h` and `plugvisor
// fleet --help`: the help names every flag the console parses, read from
// the flag set itself, so a flag cannot be added and left out of it.
func TestFleetHelpListsEveryFlag(t *testing.T) {
	var f fleetFlags
	fs := fleetFlagSet(&f)
	for _, arg := range []string{"-h", "--help", "help"} {
		out, err := exec.Command(testutil.Bin("plugvisor"), "fleet", arg).CombinedOutput()
		if err != nil {
			t.Fatalf("plugvisor fleet %s: %v\n%s", arg, err, out)
		}
		fs.VisitAll(func(fl *flag.Flag) {
			if !strings.Contains(string(out), "  -"+fl.Name+" ") && !strings.Contains(string(out), "  -"+fl.Name+"\n") {
				t.Errorf("plugvisor fleet %s does not list -%s:\n%s", arg, fl.Name, out)
			}
		})
	}
}
