package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// newEmbeddedHost is plugvisor as a library: supervisor.New in this
// process, plugins written with its sdk.
func newEmbeddedHost(ctx context.Context, b *bins) (*host, error) {
	e, err := startSupervisor(ctx, servingPlugins(b))
	if err != nil {
		return nil, err
	}
	notes, err := containmentNotes(ctx, e.sup, "embedded")
	if err != nil {
		e.stop()
		return nil, err
	}
	if err := waitRunning(ctx, e.sup); err != nil {
		e.stop()
		return nil, err
	}
	var floods atomic.Int64
	echo := taskCall(e.sup, "echo")
	return &host{ops: map[string]op{
		"rtt":      func(ctx context.Context, c command) (result, error) { return sequential(ctx, c.N, echo) },
		"inflight": func(ctx context.Context, c command) (result, error) { return concurrent(ctx, c.N, echo) },
		"spawn": func(ctx context.Context, c command) (result, error) {
			return spawnCycles(ctx, c.N, spawnTask(e.sup, "echospawn"))
		},
		"records": func(ctx context.Context, c command) (result, error) {
			token := fmt.Sprintf("flood-%d", floods.Add(1))
			return floodToSubscriber(ctx, e.sup, c.N, token, func() (time.Duration, error) { return selfCPU(), nil })
		},
	}, notes: notes, close: func() error { _, err := e.stop(); return err }}, nil
}
