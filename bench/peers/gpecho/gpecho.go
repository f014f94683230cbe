// Package gpecho is the echo plugin of hashicorp/go-plugin, over net/rpc and
// over gRPC, shared by the plugin binary and the benchmark host: both sides of
// each transport are what go-plugin's own examples write.
package gpecho

import (
	"context"
	"net/rpc"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Handshake is the cookie both sides agree on.
var Handshake = plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "PEERS_ECHO_PLUGIN", MagicCookieValue: "echo"}

// Name is the plugin's key in the plugin set.
const Name = "echo"

// Echoer answers a payload with itself.
type Echoer interface {
	Echo(ctx context.Context, p []byte) ([]byte, error)
}

// Self is the plugin side's implementation.
type Self struct{}

// Echo returns p.
func (Self) Echo(_ context.Context, p []byte) ([]byte, error) { return p, nil }

// NetRPC is the plugin over go-plugin's net/rpc transport (its default).
type NetRPC struct{ Impl Echoer }

// Server implements plugin.Plugin.
func (p *NetRPC) Server(*plugin.MuxBroker) (any, error) { return &RPCServer{impl: p.Impl}, nil }

// Client implements plugin.Plugin.
func (p *NetRPC) Client(_ *plugin.MuxBroker, c *rpc.Client) (any, error) { return rpcClient{c}, nil }

// RPCServer is the net/rpc receiver; exported because net/rpc requires it.
type RPCServer struct{ impl Echoer }

// Echo is the net/rpc method.
func (s *RPCServer) Echo(args []byte, resp *[]byte) error {
	out, err := s.impl.Echo(context.Background(), args)
	*resp = out
	return err
}

type rpcClient struct{ c *rpc.Client }

func (c rpcClient) Echo(_ context.Context, p []byte) ([]byte, error) {
	var out []byte
	err := c.c.Call("Plugin.Echo", p, &out)
	return out, err
}

// GRPC is the plugin over go-plugin's gRPC transport, with a service written
// by hand (no protoc here) on protobuf's well-known BytesValue.
type GRPC struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Echoer
}

// GRPCServer implements plugin.GRPCPlugin.
func (p *GRPC) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(&serviceDesc, grpcServer{p.Impl})
	return nil
}

// GRPCClient implements plugin.GRPCPlugin.
func (p *GRPC) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return grpcClient{cc}, nil
}

const echoMethod = "/peers.Echo/Echo"

type echoService interface {
	Echo(context.Context, *wrapperspb.BytesValue) (*wrapperspb.BytesValue, error)
}

type grpcServer struct{ impl Echoer }

func (s grpcServer) Echo(ctx context.Context, in *wrapperspb.BytesValue) (*wrapperspb.BytesValue, error) {
	out, err := s.impl.Echo(ctx, in.GetValue())
	return wrapperspb.Bytes(out), err
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: "peers.Echo",
	HandlerType: (*echoService)(nil),
	Methods: []grpc.MethodDesc{{MethodName: "Echo", Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.BytesValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		if ic == nil {
			return srv.(echoService).Echo(ctx, in)
		}
		return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: echoMethod}, func(ctx context.Context, req any) (any, error) {
			return srv.(echoService).Echo(ctx, req.(*wrapperspb.BytesValue))
		})
	}}},
	Metadata: "peers.proto",
}

type grpcClient struct{ cc *grpc.ClientConn }

func (c grpcClient) Echo(ctx context.Context, p []byte) ([]byte, error) {
	out := new(wrapperspb.BytesValue)
	err := c.cc.Invoke(ctx, echoMethod, wrapperspb.Bytes(p), out)
	return out.GetValue(), err
}

// Plugins is the plugin set of one transport: grpc or net/rpc.
func Plugins(grpc bool, impl Echoer) plugin.PluginSet {
	if grpc {
		return plugin.PluginSet{Name: &GRPC{Impl: impl}}
	}
	return plugin.PluginSet{Name: &NetRPC{Impl: impl}}
}
