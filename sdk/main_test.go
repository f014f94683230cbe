package sdk_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The example binaries are built once per test run; a package-level fixture
// because TestMain must remove it.
var bins struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// exampleBinary builds the example plugins (real binaries, as plugvisor runs
// them) and returns the path of the one called name.
func exampleBinary(t *testing.T, name string) string {
	t.Helper()
	bins.once.Do(func() {
		if bins.dir, bins.err = os.MkdirTemp("", "sdkbin"); bins.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", bins.dir+string(filepath.Separator), "github.com/plugvisor/plugvisor/examples/cmd/...")
		if out, err := cmd.CombinedOutput(); err != nil {
			bins.err = &buildError{err: err, out: string(out)}
		}
	})
	if bins.err != nil {
		t.Fatalf("build examples: %v", bins.err)
	}
	return filepath.Join(bins.dir, name)
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }
