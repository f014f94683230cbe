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
	out := make([]HostReply, len(hosts))
	var wg sync.WaitGroup
	for i, name := range hosts {
		h := f.host(name)
		r := req
		if tokens != nil {
			r.Token = tokens.Next()
		}
		wg.Go(func() {
			t0 := time.Now()
			reply, err := h.client.SendTask(ctx, r)
			out[i] = HostReply{Host: name, Reply: reply, Err: err, RTT: time.Since(t0)}
			f.answer(h, err)
		})
	}
	wg.Wait()
	return out
}
