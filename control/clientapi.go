package control

import (
	"context"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// SnapshotContext returns every instance's status.
func (c *Client) SnapshotContext(ctx context.Context) ([]supervisor.PluginStatus, error) {
	var out []supervisor.PluginStatus
	err := c.call(ctx, &Request{Op: OpSnapshot}, &out)
	return out, err
}

// Snapshot implements supervisor.API; on error it returns nil (see Err).
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

// Start implements supervisor.API.
func (c *Client) Start(name string) error { return c.StartContext(context.Background(), name) }

// Stop implements supervisor.API.
func (c *Client) Stop(name string) error { return c.StopContext(context.Background(), name) }

// Restart implements supervisor.API.
func (c *Client) Restart(name string) error { return c.RestartContext(context.Background(), name) }

// Reload implements supervisor.API.
func (c *Client) Reload() error { return c.ReloadContext(context.Background()) }

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
