package supervisor_test

import (
	"context"
	"testing"

	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// TestRestartsLiveInTheirCgroup starts and stops one instance three times.
// The kernel kills a process cloned into a cgroup2 group that was killed
// before, so every run must be born in a fresh cgroup2 directory, and live.
func TestRestartsLiveInTheirCgroup(t *testing.T) {
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), "auto_start = false"))
	seen := map[string]bool{}
	for i := range 3 {
		if err := h.Sup.Start(context.Background(), "echo"); err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		st := h.Status("echo")
		if _, err := h.Sup.Ping(context.Background(), "echo"); err != nil {
			t.Fatalf("run %d does not answer: %v", i, err)
		}
		if st.Cgroup != "" {
			if seen[st.Cgroup] {
				t.Fatalf("run %d reuses cgroup %s", i, st.Cgroup)
			}
			seen[st.Cgroup] = true
		}
		if err := h.Sup.Stop(context.Background(), "echo"); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) == 0 {
		t.Log("no cgroups on this machine: tested restarts by process group only")
	}
}
