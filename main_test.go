package main

import (
	"os"
	"testing"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// TestMain builds the plugvisor binary once for every test here (each runs
// it as testutil.Bin("plugvisor")) and removes the build at the end.
func TestMain(m *testing.M) { os.Exit(testutil.Main(m, "github.com/plugvisor/plugvisor")) }
