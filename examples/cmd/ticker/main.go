// Command ticker is the ticker example plugin as a binary of its own.
package main

import (
	"os"

	"github.com/plugvisor/plugvisor/examples/ticker"
	"github.com/plugvisor/plugvisor/sdk"
)

func main() { sdk.Exit(ticker.Main(os.Args[1:])) }
