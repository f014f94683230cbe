package headless

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/plugvisor/plugvisor/internal/clip"
	"github.com/plugvisor/plugvisor/supervisor"
)

// TestForwarderRateLimitsPerInstance: each instance gets its own lines a
// second; what is held back is said with its count and its file once the
// next line is forwarded, or at the end.
func TestForwarderRateLimitsPerInstance(t *testing.T) {
	log, out := testLogger()
	f := newForwarder(log, newFakeAPI(0))
	t0 := time.Unix(1000, 0)
	stderr := func(text string) supervisor.LogLine { return supervisor.LogLine{Stream: supervisor.Stderr, Text: text} }
	for range OutputLinesPerSecond + 70 {
		f.line(stderr("from a"), "a", t0)
	}
	for range 10 {
		f.line(stderr("from b"), "b", t0)
	}
	f.line(supervisor.LogLine{Stream: supervisor.Stdout, Text: "b on stdout"}, "b", t0)
	f.line(stderr("a again"), "a", t0.Add(time.Second))
	for range OutputLinesPerSecond + 5 {
		f.line(stderr("more from a"), "a", t0.Add(2*time.Second))
	}
	f.flush()
	text := out.String()
	for _, want := range []struct {
		sub string
		n   int
	}{
		{`line="from a"`, OutputLinesPerSecond},
		{`line="from b"`, 10},
		{`line="b on stdout"`, 1},
		{`line="a again"`, 1},
		{`line="more from a"`, OutputLinesPerSecond},
		{"more than the forwarded lines a second", 2},
		{`instance=a stream=stderr lines=70 file=/logs/a.stderr.log`, 1},
		{`instance=a stream=stderr lines=5 file=/logs/a.stderr.log`, 1},
		{"not forwarded", 2},
	} {
		if got := strings.Count(text, want.sub); got != want.n {
			t.Errorf("%q appears %d times, want %d; log:\n%s", want.sub, got, want.n, text)
		}
	}
}

func TestCutMarksWhatIsLeftOut(t *testing.T) {
	if got := clip.Text("short", OutputLineMax); got != "short" {
		t.Fatalf("a short line was changed: %q", got)
	}
	long := strings.Repeat("é", OutputLineMax) // two bytes each: an odd limit falls inside one
	got := clip.Text(long, OutputLineMax+1)
	if want := long[:OutputLineMax] + "…(+1024 bytes)"; got != want {
		t.Fatalf("cut to %q…, want %q…", got[len(got)-20:], want[len(want)-20:])
	}
	if !utf8.ValidString(got) {
		t.Fatal("cut inside a character")
	}
}
