package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"syscall"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"

	"github.com/plugvisor/plugvisor/bench/peers/gpecho"
)

// gpPlugin is one running go-plugin plugin and its dispensed echo.
type gpPlugin struct {
	client *plugin.Client
	echo   gpecho.Echoer
}

// startGP launches the echo plugin the way go-plugin's examples do (no
// SecureConfig: go-plugin checks no checksum by default) and dispenses it.
func startGP(b *bins, useGRPC bool) (*gpPlugin, error) {
	cmd := exec.Command(b.GPEcho)
	// go-plugin's plugins outlive a host that dies; this one must not.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	proto := plugin.ProtocolNetRPC
	if useGRPC {
		cmd.Args = append(cmd.Args, "-grpc")
		proto = plugin.ProtocolGRPC
	}
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: gpecho.Handshake, Plugins: gpecho.Plugins(useGRPC, nil), Cmd: cmd,
		AllowedProtocols: []plugin.Protocol{proto}, Logger: hclog.NewNullLogger(), Stderr: io.Discard,
	})
	rpc, err := c.Client()
	if err != nil {
		c.Kill()
		return nil, fmt.Errorf("go-plugin start: %w", err)
	}
	raw, err := rpc.Dispense(gpecho.Name)
	if err != nil {
		c.Kill()
		return nil, fmt.Errorf("go-plugin dispense: %w", err)
	}
	return &gpPlugin{client: c, echo: raw.(gpecho.Echoer)}, nil
}

func (p *gpPlugin) call(ctx context.Context) error {
	out, err := p.echo.Echo(ctx, []byte(payload))
	if err != nil {
		return fmt.Errorf("go-plugin echo: %w", err)
	}
	return echoed(string(out))
}

func (p *gpPlugin) stop() error {
	p.client.Kill()
	return nil
}

// newGPHost is hashicorp/go-plugin v1.7.0 with its echo plugin, over
// net/rpc or gRPC.
func newGPHost(_ context.Context, b *bins, useGRPC bool) (*host, error) {
	p, err := startGP(b, useGRPC)
	if err != nil {
		return nil, err
	}
	name := "go-plugin net/rpc"
	if useGRPC {
		name = "go-plugin gRPC"
	}
	return &host{ops: map[string]op{
		"rtt":      func(ctx context.Context, c command) (result, error) { return sequential(ctx, c.N, p.call) },
		"inflight": func(ctx context.Context, c command) (result, error) { return concurrent(ctx, c.N, p.call) },
		"spawn": func(ctx context.Context, c command) (result, error) {
			return spawnCycles(ctx, c.N, func(ctx context.Context) (func() error, error) {
				q, err := startGP(b, useGRPC)
				if err != nil {
					return nil, err
				}
				if err := q.call(ctx); err != nil {
					q.stop()
					return nil, err
				}
				return q.stop, nil
			})
		},
	}, notes: []string{name + ": v1.7.0, no containment (process only)"}, close: p.stop}, nil
}
