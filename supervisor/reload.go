package supervisor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/plugvisor/plugvisor/registry"
)

// apply makes the running set of instances match cfg: instances no longer
// allowed are stopped and removed, those whose executable, arguments,
// environment, version or checksum changed are replaced, new ones are added
// and started if auto_start. An unchanged running plugin is left alone.
func (s *Supervisor) apply(cfg *registry.Config, reason string) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.mu.Lock()
	s.config = cfg
	ctx, env := s.runCtx, s.env
	current := maps.Clone(s.instances)
	s.mu.Unlock()
	env.agent.Store(&cfg.Agent)
	env.trust.Store(cfg.Trust)

	want := map[string]*registry.Plugin{}
	var ids []string
	for _, p := range cfg.Allowed() {
		for _, id := range p.InstanceIDs() {
			want[id] = p
			ids = append(ids, id)
		}
	}
	for id, in := range current {
		if want[id] == nil {
			_ = in.do(context.Background(), opRemove, reason+": no longer configured for this host", nil)
			delete(current, id)
			s.history.forget(id)
		}
	}
	var errs []error
	var fresh []*instance
	recheck := map[*instance]*registry.Plugin{}
	for _, id := range ids {
		p := want[id]
		in := current[id]
		switch {
		case in == nil:
			var err error
			if in, err = newInstance(env, p, id); err != nil {
				errs = append(errs, err)
				continue
			}
			current[id] = in
			fresh = append(fresh, in)
		case processChanged(in.config(), p):
			_ = in.do(context.Background(), opReplace, changeReason(reason, in.config(), p), p)
		default:
			in.describe(p)
			recheck[in] = p
		}
	}
	reauthorise(recheck, reason)
	s.mu.Lock()
	s.instances = current
	s.order = s.order[:0:0]
	for _, id := range ids {
		if in := current[id]; in != nil {
			s.order = append(s.order, in)
		}
	}
	s.mu.Unlock()
	s.verifier.Retain(execPaths(cfg))
	for _, in := range fresh {
		s.wg.Go(func() { in.run(ctx) })
		if in.config().AutoStart {
			go func() { _ = in.do(context.Background(), opStart, reason, nil) }()
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("apply configuration: %w", errors.Join(errs...))
	}
	return nil
}

func execPaths(cfg *registry.Config) []string {
	var paths []string
	for _, p := range cfg.Allowed() {
		paths = append(paths, p.Exec)
	}
	return paths
}

// movedAgent refuses a reload that moves what a running supervisor holds
// open: its sockets and its work dir.
func movedAgent(old, cfg *registry.Config) error {
	for _, f := range []struct{ key, was, now string }{
		{"agent.socket", old.Agent.Socket, cfg.Agent.Socket},
		{"agent.control_socket", old.Agent.ControlSocket, cfg.Agent.ControlSocket},
		{"agent.work_dir", old.Agent.WorkDir, cfg.Agent.WorkDir},
	} {
		if f.was != f.now {
			return fmt.Errorf("%s changed from %s to %s; restart plugvisor to move it", f.key, f.was, f.now)
		}
	}
	return nil
}

// reauthorise asks each running process under the trust just applied
// (revocations and trust apply to what runs, not only to the next start),
// all at once: one it stops may take its stop grace and its SIGTERM grace
// to go, and a reload must not wait for the sum of them.
func reauthorise(ins map[*instance]*registry.Plugin, reason string) {
	var wg sync.WaitGroup
	for in, p := range ins {
		wg.Go(func() { _ = in.do(context.Background(), opReauthorise, reason, p) })
	}
	wg.Wait()
}

// processChanged reports whether p and q would run different processes.
// Signature settings (require_signature, signature, allow_downgrade) are
// not among them: they say what may start, and a running process is asked
// again under them in place (reauthorise), so one they still authorise
// keeps running untouched.
func processChanged(p, q *registry.Plugin) bool {
	return p.Exec != q.Exec || p.SHA256 != q.SHA256 || p.Version != q.Version ||
		!slices.Equal(p.Args, q.Args) || !maps.Equal(p.Env, q.Env) || containChanged(p, q)
}

// containChanged says a plugin's limits, user or sandbox differ: all are
// set when its process starts, so the process is replaced to apply them.
func containChanged(p, q *registry.Plugin) bool {
	return p.Limits != q.Limits || p.UID != q.UID || p.GID != q.GID || !sameSandbox(p.Sandbox, q.Sandbox)
}

func sameSandbox(a, b *registry.Sandbox) bool {
	if a == nil || b == nil {
		return a == b
	}
	return slices.Equal(a.ReadOnly, b.ReadOnly) && slices.Equal(a.ReadWrite, b.ReadWrite) &&
		slices.Equal(a.TCPConnect, b.TCPConnect) && slices.Equal(a.TCPBind, b.TCPBind)
}

func changeReason(reason string, old, p *registry.Plugin) string {
	switch {
	case old.Version != p.Version:
		return fmt.Sprintf("%s: version %s → %s", reason, old.Version, p.Version)
	case old.SHA256 != p.SHA256:
		return fmt.Sprintf("%s: checksum changed", reason)
	case containChanged(old, p):
		return fmt.Sprintf("%s: limits, user or sandbox changed", reason)
	default:
		return fmt.Sprintf("%s: command changed", reason)
	}
}
