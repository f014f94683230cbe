package control_test

import (
	"os"
	"testing"

	"github.com/plugvisor/plugvisor/control/controltest"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role))
	}
	os.Exit(controltest.Main(m))
}
