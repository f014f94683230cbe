package main

import (
	"os"
	"testing"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/supervisor"
)

// TestMain builds the plugvisor binary once for every test here (each runs
// it as testutil.Bin("plugvisor")) and removes the build at the end. A
// supervisor run in this process (BenchmarkStartup's) re-executes the test
// binary as its watchdog, which must not run the tests.
func TestMain(m *testing.M) {
	supervisor.RunWatchdogIfRequested()
	os.Exit(testutil.Main(m, "github.com/plugvisor/plugvisor"))
}
