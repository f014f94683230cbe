package tui

import (
	"context"
	"reflect"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// TestRunFrameRate checks the rate Run's program renders at, read from
// the program Bubble Tea builds (it keeps it in an unexported field that
// its ticker is made from): the local console's FPS unless Options.FPS
// asks for another, and Bubble Tea's own bound past 120.
func TestRunFrameRate(t *testing.T) {
	for _, c := range []struct {
		name  string
		asked int
		want  int
	}{
		{"default", 0, FPS},
		{"asked", 60, 60},
		{"past Bubble Tea's bound", 500, 120},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := newProgram(ctx, bare{}, Options{FPS: c.asked})
			if got := programFPS(t, p); got != c.want {
				t.Errorf("Options{FPS: %d}: the program renders at %d fps, want %d", c.asked, got, c.want)
			}
		})
	}
}

// programFPS is the frame rate p's renderer ticks at.
func programFPS(t *testing.T, p *tea.Program) int {
	t.Helper()
	f := reflect.ValueOf(p).Elem().FieldByName("fps")
	if !f.IsValid() || !f.CanInt() {
		t.Fatalf("tea.Program has no integer field fps (Bubble Tea changed): read the rate elsewhere")
	}
	return int(f.Int())
}
