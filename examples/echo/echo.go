// Package echo is the smallest plugin: it answers every task, whatever its id, with its content.
package echo

import (
	"context"

	"github.com/plugvisor/plugvisor/sdk"
)

// Main runs the plugin; it accepts no arguments.
func Main(args []string) error {
	return sdk.Run(context.Background(), sdk.New("echo").Flags(nil, args).HandleDefault(func(_ context.Context, t sdk.Task, s sdk.Sink) error {
		return s.Reply(t, sdk.Fields{"data_type": "echo", "content": t.Content})
	}))
}
