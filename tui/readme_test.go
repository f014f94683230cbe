package tui

import (
	"os"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/themes"
	"github.com/plugvisor/plugvisor/tui/components/cmdline"
	"github.com/plugvisor/plugvisor/tui/components/plugins"
	"github.com/plugvisor/plugvisor/tui/keys"
)

// TestReadmeKeyMap keeps the README's key map in step with the key map and the
// theme slots.
func TestReadmeKeyMap(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	for _, group := range keys.Default().Groups() {
		for _, b := range group {
			for _, k := range strings.Split(b.Help().Key, "/") {
				if !strings.Contains(readme, "`"+k+"`") {
					t.Errorf("README.md does not mention key %q (%s)", k, b.Help().Desc)
				}
			}
		}
	}
	// The console's commands and table columns, in its own section.
	console := readme
	if i, j := strings.Index(readme, "### Keys"), strings.Index(readme, "### Themes"); i >= 0 && j > i {
		console = readme[i:j]
	} else {
		t.Error("README.md has no console section from ### Keys to ### Themes")
	}
	for _, u := range cmdline.Usage() {
		verb := strings.Fields(strings.TrimPrefix(u, ":"))[0]
		if !strings.Contains(console, "`"+verb+" ") && !strings.Contains(console, "`"+verb+"`") {
			t.Errorf("README.md's console section does not mention command %q (%s)", verb, u)
		}
	}
	for _, col := range plugins.ColumnTitles() {
		if !strings.Contains(console, "`"+col+"`") {
			t.Errorf("README.md's console section does not explain column %q", col)
		}
	}
	for _, slot := range themes.SlotNames() {
		if !strings.Contains(readme, "`"+slot+"`") {
			t.Errorf("README.md does not mention theme slot %q", slot)
		}
	}
}
