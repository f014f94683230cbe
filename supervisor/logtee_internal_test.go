package supervisor

import (
	"context"
	"log/slog"
	"runtime"
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

// TestLogTeeBoundsItsWork: a huge attribute costs the tee only its bound,
// plugin and instance names are bounded, and a record the tee does not
// keep is enabled only as far as the wrapped handler wants it.
func TestLogTeeBoundsItsWork(t *testing.T) {
	var got []Event
	warnOnly := slog.NewTextHandler(&strings.Builder{}, &slog.HandlerOptions{Level: slog.LevelWarn})
	tee := newLogTee(warnOnly, func(e Event) { got = append(got, e) })
	log := slog.New(tee)
	huge := strings.Repeat("x y", 4<<20) // quoted, were it copied whole
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	log.Info("big", "a", huge, "b", huge)
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 256<<10 {
		t.Fatalf("teeing %d bytes of attributes allocated %d bytes", 2*len(huge), n)
	}
	log.With("plugin", huge).Info("named", "instance", huge)
	if e := got[len(got)-1]; len(e.Plugin) > maxTeeName+32 || len(e.Instance) > maxTeeName+32 {
		t.Fatalf("plugin %d bytes, instance %d", len(e.Plugin), len(e.Instance))
	}
	ctx := NotInHistory(context.Background())
	if tee.Enabled(ctx, slog.LevelInfo) || !tee.Enabled(ctx, slog.LevelWarn) || tee.Enabled(context.Background(), slog.LevelDebug) {
		t.Fatal("Enabled does not follow the wrapped handler for what the tee does not keep")
	}
}
