// Command chaos is the chaos example plugin as a binary of its own.
package main

import (
	"os"

	"github.com/plugvisor/plugvisor/examples/chaos"
	"github.com/plugvisor/plugvisor/sdk"
)

func main() { sdk.Exit(chaos.Main(os.Args[1:])) }
