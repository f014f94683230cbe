// Command gpecho is the go-plugin echo plugin; -grpc serves it over gRPC
// instead of net/rpc.
package main

import (
	"flag"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/plugvisor/plugvisor/bench/peers/gpecho"
)

func main() {
	useGRPC := flag.Bool("grpc", false, "serve over gRPC instead of net/rpc")
	flag.Parse()
	cfg := &plugin.ServeConfig{HandshakeConfig: gpecho.Handshake, Plugins: gpecho.Plugins(*useGRPC, gpecho.Self{})}
	if *useGRPC {
		cfg.GRPCServer = plugin.DefaultGRPCServer
	}
	plugin.Serve(cfg)
}
