package ctl

import (
	"net"
	"os"
	"time"

	"github.com/plugvisor/plugvisor/registry"
)

// demoSocket is the socket of a running demo: the fixed one if a demo
// answers there, else the first per-process one that answers (a second
// demo console started while another held the fixed socket), else the
// fixed one, for the error to name.
func demoSocket() string {
	all := registry.DemoControlSockets(os.Getenv)
	for _, path := range all {
		if answers(path) {
			return path
		}
	}
	return all[0]
}

func answers(path string) bool {
	c, err := net.DialTimeout("unix", path, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
