package tui

import (
	"regexp"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/supervisor"
)

// byteFigure is a number followed by a byte unit, in whatever form.
var byteFigure = regexp.MustCompile(`\b\d+(\.\d+)?(B|K|M|G|T|KB|MB|GB|KiB|MiB|GiB|TiB)\b`)

// TestByteUnitsIEC: every byte figure on the console (the RSS column, the
// Info tab's traffic and buffers) is in IEC units, from one formatter.
func TestByteUnitsIEC(t *testing.T) {
	r := startRig(t, true)
	r.waitState("ticker", supervisor.StateRunning)
	c := newConsole(t, r.sup, Options{}, 160, 48)
	c.press("G", "4") // ticker, Info
	s := c.waitFor("bytes in/out", "kept here", "records (")
	checked := 0
	for _, line := range strings.Split(s, "\n") {
		if !strings.Contains(line, "bytes in/out") && !strings.Contains(line, "kept here") && rowOf(s, "ticker") != line {
			continue
		}
		for _, m := range byteFigure.FindAllStringSubmatch(line, -1) {
			checked++
			switch m[2] {
			case "B", "KiB", "MiB", "GiB", "TiB":
			default:
				t.Errorf("byte figure %q not in IEC units in line:\n%s", m[0], line)
			}
		}
	}
	if checked < 4 {
		t.Fatalf("found only %d byte figures on:\n%s", checked, s)
	}
}
