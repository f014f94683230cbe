package main

import (
	"fmt"
	"io"
	"strings"
)

// writeMarkdown prints the report: what ran, a table per metric, the
// targets.
func writeMarkdown(w io.Writer, r *report) {
	fmt.Fprintf(w, "# plugvisor and its peers, across processes (%d rounds, interleaved)\n\n", r.Sizes.Rounds)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	for _, t := range r.Tables {
		fmt.Fprintf(w, "\n## %s\n\n", t.Title)
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(t.Header, " | "), strings.Repeat("---|", len(t.Header)))
		for _, row := range t.Rows {
			texts := make([]string, len(row.Cells))
			for i, c := range row.Cells {
				texts[i] = c.Text
			}
			fmt.Fprintf(w, "| %s | %s |\n", row.Label, strings.Join(texts, " | "))
		}
	}
	fmt.Fprintf(w, "\n## Targets\n\n| target | measured | |\n|---|---|---|\n")
	for _, t := range r.Targets {
		verdict := "MISS"
		if t.Pass {
			verdict = "PASS"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", t.Goal, t.Text, verdict)
	}
}
