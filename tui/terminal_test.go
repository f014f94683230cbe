package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/screen"
)

// TestCopyDroppedSaid: a copy the terminal never took (Emit refused it)
// is said in the footer, not lost in silence.
func TestCopyDroppedSaid(t *testing.T) {
	r := startRig(t, false)
	m := newModel(r.sup, Options{Theme: "dark", emit: func(string) bool { return false }})
	defer m.close()
	cmd := m.setClipboard("text")
	msg := cmd()
	if _, ok := msg.(copyDroppedMsg); !ok {
		t.Fatalf("a refused copy's command returned %T, want copyDroppedMsg", msg)
	}
	m.Update(msg)
	h := m.footer.History()
	if len(h) == 0 || !strings.Contains(h[len(h)-1].Text, "never reached the terminal") {
		t.Fatalf("the footer's history does not say the copy was dropped: %+v", h)
	}
}

// TestHangupIsNotAFailure: a console its caller ended (a hangup cancels
// the context) on a terminal that is gone returns no error for the
// terminal: the caller asked for the end.
func TestHangupIsNotAFailure(t *testing.T) {
	r := startRig(t, false)
	m := newModel(r.sup, Options{Theme: "dark"})
	defer m.close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, terr := range []error{
		fmt.Errorf("%w: the terminal took no more output", screen.ErrPainting),
		errors.New("screen: writing to the terminal: input/output error"),
	} {
		for _, err := range []error{nil, fmt.Errorf("%w: %w", tea.ErrProgramKilled, context.Canceled)} {
			if got := m.outcome(ctx, err, terr); got != nil {
				t.Errorf("ended on purpose (%v) with %v: Run = %v, want nil", err, terr, got)
			}
		}
	}
	if got := m.outcome(context.Background(), nil, fmt.Errorf("%w: injected", screen.ErrPainting)); !errors.Is(got, screen.ErrPainting) {
		t.Errorf("painting failed on its own: Run = %v, want ErrPainting", got)
	}
}
