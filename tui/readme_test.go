package tui

import (
	"os"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/themes"
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
	for _, slot := range themes.SlotNames() {
		if !strings.Contains(readme, "`"+slot+"`") {
			t.Errorf("README.md does not mention theme slot %q", slot)
		}
	}
}
