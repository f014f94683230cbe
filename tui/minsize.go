package tui

import (
	"fmt"
	"strings"

	"github.com/plugvisor/plugvisor/tui/render"
)

// tooSmall is what the console draws in a terminal smaller than it needs:
// the longest of its messages that fits whole in w×h cells, word-wrapped,
// down to the needed size alone, cut to the width at the very smallest.
func tooSmall(w, h int) string {
	need, have := fmt.Sprintf("%dx%d", minWidth, minHeight), fmt.Sprintf("%dx%d", w, h)
	for _, msg := range []string{
		"plugvisor needs at least " + need + " cells (this terminal is " + have + ")",
		"plugvisor needs " + need + " (has " + have + ")",
		"needs " + need + " (has " + have + ")",
		"needs " + need,
		need,
	} {
		if lines := render.WrapWords(msg, w); len(lines) <= h && fits(lines, w) {
			return strings.Join(lines, "\n")
		}
	}
	return render.Cut(need, w)
}

func fits(lines []string, w int) bool {
	for _, l := range lines {
		if render.Width(l) > w {
			return false
		}
	}
	return true
}
