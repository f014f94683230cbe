package supervisor

import (
	"log/slog"
	"strings"
	"testing"
)

// TestLogTeeFlattensAndBounds: attributes of With, groups and the record
// become key=value text, the plugin and instance are picked out, levels
// under Info are not published, and text is bounded.
func TestLogTeeFlattensAndBounds(t *testing.T) {
	var got []Event
	warnOnly := slog.NewTextHandler(&strings.Builder{}, &slog.HandlerOptions{Level: slog.LevelWarn})
	log := slog.New(newLogTee(warnOnly, func(e Event) { got = append(got, e) }))
	log.Debug("not published")
	l := log.With("plugin", "echo", "instance", "echo.1").WithGroup("g")
	l.Info("hello", "k", "two words", slog.Group("sub", "n", 3))
	log.Warn(strings.Repeat("m", 3*MaxSupervisorLogText), "big", strings.Repeat("v", 3*MaxSupervisorLogText))
	if len(got) != 2 {
		t.Fatalf("published %d events, want 2 (Info and Warn)", len(got))
	}
	e := got[0]
	if e.Type != EventSupervisorLog || e.Plugin != "echo" || e.Instance != "echo.1" || e.SupervisorLog.Level != "INFO" ||
		e.SupervisorLog.Attrs != `plugin=echo instance=echo.1 g.k="two words" g.sub.n=3` {
		t.Fatalf("event %+v, log %+v", e, e.SupervisorLog)
	}
	big := got[1].SupervisorLog
	if len(big.Message) > MaxSupervisorLogText || len(big.Attrs) > MaxSupervisorLogText || !strings.HasSuffix(big.Message, "…") {
		t.Fatalf("message %d bytes, attrs %d: want at most %d each, marked cut", len(big.Message), len(big.Attrs), MaxSupervisorLogText)
	}
}
