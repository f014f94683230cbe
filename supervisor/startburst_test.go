package supervisor_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// TestManyPluginsConnectTogether: 80 instances, more than the bound of 64
// connections waiting to register, all connect and hold their hello until
// every one is connected. Every one of them registers: the bound is there
// for connections the supervisor is not waiting for, and must never shed
// the plugins it started itself.
func TestManyPluginsConnectTogether(t *testing.T) {
	const per, plugins = 40, 2
	gate := filepath.Join(t.TempDir(), "gate")
	if err := syscall.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}
	var tables string
	for i := range plugins {
		tables += plugin(t, fmt.Sprintf("gated%d", i), self(), fmt.Sprintf(
			"instances = %d\nauto_start = false\nrestart = \"never\"\nstart_timeout = \"2m\"\nenv = { PV_TEST_ROLE = \"gated\", PV_TEST_GATE = %q }", per, gate))
	}
	// 80 Go programs starting at once on a loaded machine, each waiting
	// for the last to connect: no start or heartbeat timeout is what this
	// test is about.
	h := startHarness(t, tables, func(o *supervisor.Options) {
		o.Config.Agent.RegistrationTimeout = 2 * time.Minute
		o.Config.Agent.HeartbeatTimeout = 2 * time.Minute
	})
	errs := make(chan error, plugins)
	for i := range plugins {
		go func() { errs <- h.Sup.Start(context.Background(), fmt.Sprintf("gated%d", i)) }()
	}
	supervisortest.WaitUntil(t, "every instance connected", 2*time.Minute, func() bool {
		return connected(t, h) == per*plugins
	})
	open, err := os.OpenFile(gate, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	for range plugins {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	running := 0
	for _, st := range h.Snapshot() {
		if st.State == supervisor.StateRunning {
			running++
		}
	}
	if info := supervisortest.InfoOf(t, h.Sup); running != per*plugins || info.ShedConns != 0 {
		t.Fatalf("%d of %d instances running, %d connections shed", running, per*plugins, info.ShedConns)
	}
}

// connected counts the instances that said they connected.
func connected(t *testing.T, h *harness) int {
	n := 0
	for _, st := range h.Snapshot() {
		lines, err := h.Sup.Logs(context.Background(), st.Instance, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if strings.Contains(l.Text, "connected") {
				n++
				break
			}
		}
	}
	return n
}
