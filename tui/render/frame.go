package render

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Inner is the width left for content in a frame w cells wide: the border
// and one cell of margin on each side.
func Inner(w int) int { return max(w-4, 0) }

// Frame draws lines inside a rounded border of w×h cells with title set
// into the top edge. Lines are fitted to Inner(w) and the body is padded or
// cut to h-2 lines, so the result is exactly w×h.
func Frame(border lipgloss.Style, title string, lines []string, w, h int) string {
	if w < 2 || h < 2 {
		return ""
	}
	inner := w - 2
	content := Inner(w)
	var b strings.Builder
	b.Grow((w + 8) * h)
	b.WriteString(topEdge(border, title, inner))
	side := border.Render("│")
	for i := 0; i < h-2; i++ {
		b.WriteByte('\n')
		b.WriteString(side)
		b.WriteByte(' ')
		if i < len(lines) {
			b.WriteString(Fit(lines[i], content))
		} else {
			b.WriteString(strings.Repeat(" ", content))
		}
		b.WriteByte(' ')
		b.WriteString(side)
	}
	b.WriteByte('\n')
	b.WriteString(border.Render("╰" + strings.Repeat("─", inner) + "╯"))
	return b.String()
}

func topEdge(border lipgloss.Style, title string, inner int) string {
	if title == "" || inner < 4 {
		return border.Render("╭" + strings.Repeat("─", inner) + "╮")
	}
	// "╭─ " title " " dashes "╮" spans inner+2 cells.
	title = Cut(title, inner-4)
	rest := inner - 3 - Width(title)
	return border.Render("╭─ ") + title + border.Render(" "+strings.Repeat("─", rest)+"╮")
}

// Overlay draws box (lines of equal width) centred over the frame's lines.
func Overlay(frame []string, box []string, width int) []string {
	if len(box) == 0 || len(frame) == 0 {
		return frame
	}
	bw := Width(box[0])
	x := max((width-bw)/2, 0)
	y := max((len(frame)-len(box))/2, 0)
	out := make([]string, len(frame))
	copy(out, frame)
	for i, line := range box {
		if y+i >= len(out) {
			break
		}
		out[y+i] = splice(out[y+i], line, x, bw, width)
	}
	return out
}

// splice replaces cells [x, x+w) of a styled line with s.
func splice(line, s string, x, w, width int) string {
	left := Fit(ansi.Cut(line, 0, x), x)
	right := ansi.Cut(line, x+w, width)
	return left + s + right
}
