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
	ops := apiOps(e.sup)
	ops["records"] = func(ctx context.Context, c command) (result, error) {
		token := fmt.Sprintf("flood-%d", floods.Add(1))
		return floodToSubscriber(ctx, e.sup, c.N, token, func() (time.Duration, error) { return selfCPU(), nil })
	}
	return &host{ops: ops, notes: notes, close: func() error { _, err := e.stop(); return err }}, nil
}
