package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// SnapshotContext returns every instance's status.
func (c *Client) SnapshotContext(ctx context.Context) ([]supervisor.PluginStatus, error) {
	var out []supervisor.PluginStatus
	err := c.call(ctx, &Request{Op: OpSnapshot}, &out)
	return out, err
}

// Snapshot implements supervisor.API. On error it returns nil, which a
// caller cannot tell from a supervisor with no plugins: callers that must
// (the console keeping its last good snapshot, a script's wait) use
// SnapshotContext.
func (c *Client) Snapshot() []supervisor.PluginStatus {
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	out, _ := c.SnapshotContext(ctx)
	return out
}

// InfoContext describes the remote supervisor.
func (c *Client) InfoContext(ctx context.Context) (supervisor.Info, error) {
	var out supervisor.Info
	err := c.call(ctx, &Request{Op: OpInfo}, &out)
	out.DroppedEvents += c.dropped.Load()
	return out, err
}

// Info implements supervisor.API. Events lost by this client's own
// subscribers count in DroppedEvents. On error it returns what the server
// said at hello.
func (c *Client) Info() supervisor.Info {
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	out, err := c.InfoContext(ctx)
	if err != nil {
		out = c.hello.Info
		out.DroppedEvents += c.dropped.Load()
	}
	return out
}

// StartContext starts a plugin and returns once it registered.
func (c *Client) StartContext(ctx context.Context, name string) error {
	return c.call(ctx, &Request{Op: OpStart, Name: name}, nil)
}

// StopContext stops a plugin and returns once it is gone.
func (c *Client) StopContext(ctx context.Context, name string) error {
	return c.call(ctx, &Request{Op: OpStop, Name: name}, nil)
}

// RestartContext restarts a plugin and returns once it registered again.
func (c *Client) RestartContext(ctx context.Context, name string) error {
	return c.call(ctx, &Request{Op: OpRestart, Name: name}, nil)
}

// ReloadContext makes the supervisor re-read its configuration.
func (c *Client) ReloadContext(ctx context.Context) error {
	return c.call(ctx, &Request{Op: OpReload}, nil)
}

// lifecycleTimeout bounds Start, Stop, Restart and Reload, the API methods
// without a context. They legitimately take a while (Start waits for the
// plugin to register, Stop for its grace period, a plugin's every instance
// in turn), so the bound is generous; it is there so that a stalled server
// cannot hang a caller forever. A variable for the tests.
var lifecycleTimeout = 2 * time.Minute

// lifecycle runs one of the lifecycle ops within lifecycleTimeout.
func (c *Client) lifecycle(op func(context.Context) error, what string) error {
	d := lifecycleTimeout
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := op(ctx)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return fmt.Errorf("%s: no answer from the control server within %s: %w", what, d, err)
	}
	return err
}

// Start implements supervisor.API, within a bound of 2 minutes; use
// StartContext to choose another.
func (c *Client) Start(name string) error {
	return c.lifecycle(func(ctx context.Context) error { return c.StartContext(ctx, name) }, "start "+name)
}

// Stop implements supervisor.API, within a bound of 2 minutes; use
// StopContext to choose another.
func (c *Client) Stop(name string) error {
	return c.lifecycle(func(ctx context.Context) error { return c.StopContext(ctx, name) }, "stop "+name)
}

// Restart implements supervisor.API, within a bound of 2 minutes; use
// RestartContext to choose another.
func (c *Client) Restart(name string) error {
	return c.lifecycle(func(ctx context.Context) error { return c.RestartContext(ctx, name) }, "restart "+name)
}

// Reload implements supervisor.API, within a bound of 2 minutes; use
// ReloadContext to choose another.
func (c *Client) Reload() error {
	return c.lifecycle(c.ReloadContext, "reload")
}

// SendTask implements supervisor.API. ctx's deadline travels with the
// request, so the supervisor gives up when the caller does.
func (c *Client) SendTask(ctx context.Context, name string, id uint32, content string) (supervisor.Reply, error) {
	var out supervisor.Reply
	err := c.call(ctx, &Request{Op: OpSendTask, Name: name, TaskID: id, Content: content}, &out)
	if err != nil {
		return supervisor.Reply{}, err
	}
	return out, nil
}

// Ping implements supervisor.API.
func (c *Client) Ping(ctx context.Context, name string) (time.Duration, error) {
	var out PingResult
	err := c.call(ctx, &Request{Op: OpPing, Name: name}, &out)
	return out.RTT, err
}

// LogsContext returns the last n captured lines of name.
func (c *Client) LogsContext(ctx context.Context, name string, n int) ([]supervisor.LogLine, error) {
	var out []supervisor.LogLine
	err := c.call(ctx, &Request{Op: OpLogs, Name: name, N: n}, &out)
	return out, err
}

// Logs implements supervisor.API.
func (c *Client) Logs(name string, n int) ([]supervisor.LogLine, error) {
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	return c.LogsContext(ctx, name, n)
}
