package metrics_test

import (
	"os"
	"testing"

	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

func TestMain(m *testing.M) { os.Exit(supervisortest.Main(m)) }
