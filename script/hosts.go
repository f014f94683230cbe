package script

import (
	"context"
	"errors"
	"fmt"

	"github.com/plugvisor/plugvisor/supervisor"
)

// HostPicker is what an API over many hosts (a fleet) offers a script
// whose steps carry a selector: the hosts it picks.
type HostPicker interface {
	PickHosts(ctx context.Context, selector string) ([]string, error)
}

// errNoFleet is a selector given to an API over one host.
var errNoFleet = errors.New("a host selector needs an API over many hosts (plugvisor fleet ctl run)")

// target is where a step acts: a host ("" for none) and the name there as
// the API names it.
type target struct{ host, name string }

// targets is name on every host selector picks, qualified; name alone
// without a selector.
func (r *runner) targets(ctx context.Context, selector, name string) ([]target, error) {
	if selector == "" {
		return []target{{name: name}}, nil
	}
	p, ok := r.api.(HostPicker)
	if !ok {
		return nil, errNoFleet
	}
	hosts, err := p.PickHosts(ctx, selector)
	if err != nil {
		return nil, err
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("selector %s picks no host that answers", selector)
	}
	out := make([]target, len(hosts))
	for i, h := range hosts {
		out[i] = target{host: h, name: supervisor.QualifiedName(h, name)}
	}
	return out, nil
}
