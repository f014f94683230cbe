package control

import (
	"context"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// Snapshot implements supervisor.API.
func (c *Client) Snapshot(ctx context.Context) ([]supervisor.PluginStatus, error) {
	var out []supervisor.PluginStatus
	err := c.call(ctx, &Request{Op: OpSnapshot}, &out)
	return out, err
}

// Info implements supervisor.API. Events lost by this client's own
// subscribers count in DroppedEvents.
func (c *Client) Info(ctx context.Context) (supervisor.Info, error) {
	var out supervisor.Info
	err := c.call(ctx, &Request{Op: OpInfo}, &out)
	out.DroppedEvents += c.dropped.Load()
	return out, err
}

// Hello is what the server said of itself when the connection opened: the
// last word on a supervisor that no longer answers.
func (c *Client) Hello() HelloResult { return c.hello }

// Start implements supervisor.API: it returns once the plugin registered.
func (c *Client) Start(ctx context.Context, name string) error {
	return c.call(ctx, &Request{Op: OpStart, Name: name}, nil)
}

// Stop implements supervisor.API: it returns once the plugin is gone.
func (c *Client) Stop(ctx context.Context, name string) error {
	return c.call(ctx, &Request{Op: OpStop, Name: name}, nil)
}

// Restart implements supervisor.API: it returns once the plugin registered
// again.
func (c *Client) Restart(ctx context.Context, name string) error {
	return c.call(ctx, &Request{Op: OpRestart, Name: name}, nil)
}

// Reload implements supervisor.API.
func (c *Client) Reload(ctx context.Context) error {
	return c.call(ctx, &Request{Op: OpReload}, nil)
}

// SendTask implements supervisor.API. ctx's deadline travels with the
// request, so the supervisor gives up when the caller does. The Reply comes
// back with its token and outcome even when the task failed.
func (c *Client) SendTask(ctx context.Context, req supervisor.TaskRequest) (supervisor.Reply, error) {
	out := supervisor.Reply{Plugin: req.Plugin, ID: req.ID, Token: req.Token, Outcome: supervisor.OutcomeNotSent}
	err := c.call(ctx, &Request{Op: OpSendTask, Name: req.Plugin, TaskID: req.ID, Content: req.Content, Token: req.Token}, &out)
	out.Settle(ctx, err)
	return out, err
}

// Ping implements supervisor.API.
func (c *Client) Ping(ctx context.Context, name string) (time.Duration, error) {
	var out PingResult
	err := c.call(ctx, &Request{Op: OpPing, Name: name}, &out)
	return out.RTT, err
}

// Logs implements supervisor.API.
func (c *Client) Logs(ctx context.Context, name string, n int) ([]supervisor.LogLine, error) {
	var out []supervisor.LogLine
	err := c.call(ctx, &Request{Op: OpLogs, Name: name, N: n}, &out)
	return out, err
}

// History implements supervisor.API. A result larger than a frame holds
// the newest events that fit; HistoryPage says how many were left out.
func (c *Client) History(ctx context.Context, q supervisor.HistoryQuery) ([]supervisor.Event, error) {
	p, err := c.HistoryPage(ctx, q)
	return p.Events, err
}

// HistoryPage is a history result and how many of the events selected the
// server left out, the oldest, to fit the response in a frame.
type HistoryPage struct {
	Events  []supervisor.Event
	Omitted int
}

// HistoryPage asks for history as History does, and says what was left out.
func (c *Client) HistoryPage(ctx context.Context, q supervisor.HistoryQuery) (HistoryPage, error) {
	req := &Request{Op: OpHistory, Name: q.Plugin, N: q.N}
	for _, t := range q.Types {
		req.Types = append(req.Types, string(t))
	}
	var p HistoryPage
	err := c.callOmitted(ctx, req, &p.Events, &p.Omitted)
	return p, err
}
