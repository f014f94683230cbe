package supervisor_test

import (
	"context"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/registry"
)

// TestSwapAfterVerifyDoesNotRun replaces the executable on disk after it was
// verified and before it is executed. What runs must be the verified bytes;
// the next start must refuse the new file.
func TestSwapAfterVerifyDoesNotRun(t *testing.T) {
	dir := supervisortest.ShortDir(t)
	exe := filepath.Join(dir, "echo")
	copyFile(t, supervisortest.Bin("echo"), exe)
	marker := filepath.Join(dir, "swapped-ran")
	evil := filepath.Join(dir, "evil")
	if err := os.WriteFile(evil, []byte("#!/bin/sh\ntouch "+marker+"\nexec sleep 30\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	swapped := false
	h := startHarness(t, plugin(t, "echo", exe, `restart = "never"`), func(o *supervisor.Options) {
		supervisor.SetAfterVerify(o, func(*registry.Plugin) {
			if !swapped {
				swapped = true
				if err := os.Rename(evil, exe); err != nil {
					t.Error(err)
				}
			}
		})
	})
	st := h.WaitState("echo", supervisor.StateRunning)
	if !swapped {
		t.Fatal("the swap hook never ran")
	}
	if st.PluginVersion == "" && st.Protocol == 0 {
		t.Fatalf("echo did not register: %+v", st)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the swapped-in file ran")
	}
	if err := h.Sup.Restart(context.Background(), "echo"); err == nil {
		t.Fatal("restart ran a file whose checksum no longer matches")
	}
	st = h.WaitState("echo", supervisor.StateFailed)
	if !strings.Contains(st.Reason, "checksum mismatch") {
		t.Fatalf("reason %q", st.Reason)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the swapped-in file ran on restart")
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o700); err != nil {
		t.Fatal(err)
	}
}
