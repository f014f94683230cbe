package fleet

import (
	"context"
	"sync"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// HostReply is one host's part of a fan-out.
type HostReply struct {
	Host  string
	Reply supervisor.Reply
	Err   error
	RTT   time.Duration // the caller's: request sent → answer in
}

// FanOut sends req (req.Plugin a name local to each host) to every host
// at once, each task with a token of tokens' if it is not nil, and
// returns once every host has answered or ctx has ended, in hosts' order.
// Names in the replies are those of the hosts, unqualified.
func (f *Fleet) FanOut(ctx context.Context, hosts []string, req supervisor.TaskRequest, tokens *supervisor.Tokens) []HostReply {
	reqs := make([]supervisor.TaskRequest, len(hosts))
	for i := range hosts {
		reqs[i] = req
		if tokens != nil {
			reqs[i].Token = tokens.Next()
		}
	}
	replies := make([]supervisor.Reply, len(hosts))
	out := f.Each(ctx, hosts, func(ctx context.Context, i int, c *Client) error {
		var err error
		replies[i], err = c.SendTask(ctx, reqs[i])
		return err
	})
	for i := range out {
		out[i].Reply = replies[i]
	}
	return out
}

// Each calls fn with every host's client at once (i its index in hosts)
// and returns how each went, in hosts' order, with the caller's round
// trip; how a host answered counts as a call's answer does (no
// responders: unreachable at once). ctx bounds the calls. A host not of
// the fleet is called, not added to it.
func (f *Fleet) Each(ctx context.Context, hosts []string, fn func(ctx context.Context, i int, c *Client) error) []HostReply {
	hs := make([]*fleetHost, len(hosts))
	for i, name := range hosts {
		hs[i], _ = f.lookup(name)
	}
	out := make([]HostReply, len(hosts))
	inParallel(hs, func(i int, h *fleetHost) {
		t0 := time.Now()
		err := fn(ctx, i, h.client)
		out[i] = HostReply{Host: h.name, Err: err, RTT: time.Since(t0)}
		f.answer(h, err)
	})
	return out
}

// inParallel runs fn for every host at once and returns when all have.
func inParallel(hosts []*fleetHost, fn func(int, *fleetHost)) {
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() { fn(i, h) })
	}
	wg.Wait()
}
