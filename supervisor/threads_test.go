package supervisor_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// The supervisor's OS threads do not grow with its plugins: no thread
// waits for a plugin's exit and, without limits or a sandbox, none forks
// for it alone. 50 idle plugins must not add more than the runtime's own
// handful (one per plugin before).
func TestThreadsIndependentOfPlugins(t *testing.T) {
	const n = 50
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), fmt.Sprintf("instances = %d\nauto_start = false", n)))
	// Warm up: the first start brings up what every start uses once.
	if err := h.Sup.Start(context.Background(), "echo.0"); err != nil {
		t.Fatal(err)
	}
	before := selfThreads(t)
	for i := 1; i < n; i++ {
		if err := h.Sup.Start(context.Background(), fmt.Sprintf("echo.%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range h.Snapshot() {
		if st.State != supervisor.StateRunning {
			t.Fatalf("%s is %s", st.Instance, st.State)
		}
	}
	after := selfThreads(t)
	pidfd := supervisor.PidfdWaits()
	t.Logf("path: exits watched by pidfd: %v; threads: %d with 1 plugin, %d with %d", pidfd, before, after, n)
	if !pidfd {
		// The fallback holds a thread blocked in waitid per plugin: the
		// growth is what it costs, and shows every exit is watched.
		if after-before < n-1 {
			t.Fatalf("without pidfds, threads %d with 1 plugin, %d with %d; want one more per plugin", before, after, n)
		}
		return
	}
	if after-before >= 10 {
		t.Fatalf("threads %d with 1 plugin, %d with %d: they grow with the plugins", before, after, n)
	}
}
