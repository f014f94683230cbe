// Command ctlonly is `plugvisor ctl` built alone, without the console and
// the engine beside it in one binary: the anchor against which the root
// package's BenchmarkStartup holds the cost of every `plugvisor ctl` call.
package main

import (
	"context"
	"os"

	"github.com/plugvisor/plugvisor/ctl"
)

func main() { os.Exit(ctl.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }
