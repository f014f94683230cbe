// Command plugvisor supervises plugin processes: headless as a daemon, or with an operations console.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/plugvisor/plugvisor/ctl"
	"github.com/plugvisor/plugvisor/examples"
	"github.com/plugvisor/plugvisor/internal/fds"
	"github.com/plugvisor/plugvisor/internal/signing"
	"github.com/plugvisor/plugvisor/sdk"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Exit codes, documented in the README.
const (
	exitOK      = 0
	exitFailure = 1 // the supervisor failed, or a script's expectations did not hold
	exitUsage   = 2 // bad command line, configuration or script
	exitConnect = 3 // attach: no supervisor answers on the control socket, or the connection was lost
)

const usage = `usage:
  plugvisor [--config FILE] [--no-tui] [--theme NAME] [--script FILE] [--log-format text|json] [--log-level L] [--data-out FILE]
  plugvisor attach [--socket PATH | --config FILE | --nats URL --host NAME] [--theme NAME]
  plugvisor ctl [--socket PATH | --config FILE | --nats URL --host NAME] VERB ...   (plugvisor ctl help)
  plugvisor fleet --nats URL [--select SELECTOR] [--no-tui] | plugvisor fleet --demo [--no-tui]
  plugvisor fleet ctl --nats URL VERB ...   (plugvisor fleet ctl help)
  plugvisor fleet nats-config --host NAME[:PASSWORD] ... --operator USER[:PASSWORD][@HOSTS] ...
  plugvisor check [--config FILE]
  plugvisor keygen -p PUBLIC_KEY_FILE -s SECRET_KEY_FILE [-W]
  plugvisor sign -s SECRET_KEY_FILE -name PLUGIN -version VERSION [-x SIGNATURE_FILE] FILE
  plugvisor plugin NAME [ARGS]
`

func main() {
	// Before anything else: what plugvisor's parent handed it by accident
	// must not reach the plugins and the watchdog it starts.
	if err := fds.CloseOnExecInherited(); err != nil {
		fmt.Fprintln(os.Stderr, "plugvisor:", err)
		os.Exit(exitFailure)
	}
	supervisor.RunWatchdogIfRequested()
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "plugin":
			return runPlugin(args[1:])
		case "check":
			return runCheck(args[1:])
		case "keygen":
			return signing.KeygenCommand(args[1:], os.Stdin, os.Stdout, os.Stderr)
		case "sign":
			return signing.SignCommand(args[1:], os.Stdin, os.Stdout, os.Stderr)
		case "ctl":
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return ctl.Main(ctx, args[1:], os.Stdout, os.Stderr)
		case "attach":
			return runAttach(args[1:])
		case "fleet":
			return runFleet(args[1:])
		case "help", "-h", "--help":
			fmt.Print(usage)
			return exitOK
		}
	}
	return runSupervisor(args)
}

// runPlugin runs one of the embedded example plugins; the demo starts the
// plugvisor binary itself as `plugvisor plugin <name>`.
func runPlugin(args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(os.Stderr, "usage: plugvisor plugin NAME [ARGS]\nplugins: %v\n", examples.Names())
		return exitUsage
	}
	main, ok := examples.Lookup(args[0])
	if !ok {
		fmt.Fprintf(os.Stderr, "plugvisor plugin: no embedded plugin %q (have %v)\n", args[0], examples.Names())
		return exitUsage
	}
	// The SDK's exit codes (rejected, connection lost, …) are the plugin's.
	err := main(args[1:])
	if code := sdk.ExitCode(err); code != sdk.ExitOK {
		fmt.Fprintf(os.Stderr, "plugin %s: %v\n", args[0], err)
		return code
	}
	return exitOK
}
