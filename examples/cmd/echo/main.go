// Command echo is the echo example plugin as a binary of its own.
package main

import (
	"os"

	"github.com/plugvisor/plugvisor/examples/echo"
	"github.com/plugvisor/plugvisor/sdk"
)

func main() { sdk.Exit(echo.Main(os.Args[1:])) }
