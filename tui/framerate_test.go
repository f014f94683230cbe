package tui

import (
	"context"
	"io"
	"reflect"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/screen"
)

// TestRunFrameRate checks the rates Run's program runs at: the console
// paints at the local console's FPS unless Options.FPS asks for another,
// bounded at 120 as Bubble Tea bounds its own; and Bubble Tea's ticker,
// read from the program it builds (an unexported field its ticker is made
// from), wakes once a second, the least it takes, as it only flushes its
// own queue there.
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
			opts := Options{FPS: c.asked}
			in, _ := io.Pipe()
			term, err := screen.Open(in, io.Discard, nil, opts.frameRate())
			if err != nil {
				t.Fatal(err)
			}
			defer term.Close()
			p := newProgram(ctx, bare{}, term, in, io.Discard, opts)
			if got := term.FPS(); got != c.want {
				t.Errorf("Options{FPS: %d}: the console paints at %d fps, want %d", c.asked, got, c.want)
			}
			if got := programFPS(t, p); got != 1 {
				t.Errorf("Options{FPS: %d}: Bubble Tea's ticker runs at %d fps, want 1", c.asked, got)
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
