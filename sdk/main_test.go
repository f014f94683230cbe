package sdk_test

import (
	"os"
	"testing"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

// TestMain builds the example plugins (real binaries, as plugvisor runs
// them) once for every test here and removes them at the end.
func TestMain(m *testing.M) {
	os.Exit(testutil.Main(m, "github.com/plugvisor/plugvisor/examples/cmd/..."))
}

// exampleBinary is the built example plugin called name.
func exampleBinary(t *testing.T, name string) string { return testutil.Bin(name) }
