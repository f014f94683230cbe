package script_test

import (
	"os"
	"testing"

	"github.com/plugvisor/plugvisor/control/controltest"
)

func TestMain(m *testing.M) { os.Exit(controltest.Main(m)) }
