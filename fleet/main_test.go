package fleet_test

import (
	"os"
	"testing"

	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// TestMain builds the example plugins the tests run under a real engine.
func TestMain(m *testing.M) { os.Exit(supervisortest.Main(m)) }
