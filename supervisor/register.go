package supervisor

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/plugvisor/plugvisor/internal/clip"
	"github.com/plugvisor/plugvisor/internal/latest"
	"github.com/plugvisor/plugvisor/internal/ratelimit"
	"github.com/plugvisor/plugvisor/internal/unixsock"
	"github.com/plugvisor/plugvisor/protocol"
)

// Bounds on connections that have not registered yet: until a connection
// proves it is a plugin's, it must cost next to nothing, however many a
// hostile process opens.
const (
	// maxUnregistered connections wait for their hello at once; a
	// connection beyond them is closed at accept and counted as shed.
	maxUnregistered = 64
	// registrationFrame is the frame limit before welcome: a hello is a
	// few hundred bytes. welcome then announces agent.max_frame.
	registrationFrame = 16 << 10
)

// maxWaitingPerInstance bounds the connections from one instance's
// processes waiting to register beyond maxUnregistered: one is the
// plugin's, a few more cover a restart's overlap, and a plugin forking
// connections in a loop fills only its own share.
const maxWaitingPerInstance = 4

// registration counts the plugin socket's connections before they register,
// and limits how often their refusals are logged.
type registration struct {
	pending       atomic.Int64
	refused, shed atomic.Uint64
	logged        *ratelimit.Limiter

	mu      sync.Mutex
	waiting map[*instance]int // connections held beyond maxUnregistered, by owner
}

// accept serves the plugin socket until it is closed.
func (s *Supervisor) accept(ln *net.UnixListener) {
	unixsock.Accept(ln, s.log, "plugin socket", func(c *net.UnixConn) {
		release, ok := s.admit(c)
		if !ok {
			s.reg.shed.Add(1)
			s.logRefusal(s.log, "plugin socket connection shed: too many connections waiting to register", "limit", maxUnregistered)
			c.Close()
			return
		}
		go func() {
			defer release()
			s.register(c)
		}()
	})
}

// admit takes a place for c among the connections waiting to register.
// The first maxUnregistered take any; beyond them, only a connection from
// the processes of one instance is admitted, within that instance's share:
// many plugins starting at once (hundreds on a big host) must all register,
// while strangers, which nothing waits for, are shed.
func (s *Supervisor) admit(c *net.UnixConn) (release func(), ok bool) {
	if s.reg.pending.Add(1) <= maxUnregistered {
		return func() { s.reg.pending.Add(-1) }, true
	}
	s.reg.pending.Add(-1)
	cred, err := unixsock.PeerCred(c)
	if err != nil {
		return nil, false
	}
	if cred.Pid <= 0 {
		return nil, false // in another pid namespace: a stranger
	}
	owners := s.owners(int(cred.Pid))
	switch {
	case len(owners) == 0:
		return nil, false // a stranger
	case len(owners) == 1 && owners[0].group() > 0:
		return s.reg.hold(owners[0], maxWaitingPerInstance) // in its process group
	case s.startedHere(int(cred.Pid)):
		// Its group is no instance's yet: it may be any of the instances
		// being started (one or several), whose shares it draws on
		// together. Only a process the supervisor started itself may: any
		// process of the machine whose group is no instance's would match
		// too, and take a starting plugin's places.
		return s.reg.hold(nil, maxWaitingPerInstance*len(owners))
	default:
		return nil, false
	}
}

// startedHere says whether pid is a process the supervisor started (a
// plugin's first process), counting one whose fork has not returned yet:
// the record is looked at again after, since it may have been made while
// the fork was being looked at.
func (s *Supervisor) startedHere(pid int) bool {
	s.mu.RLock()
	env := s.env
	s.mu.RUnlock()
	if env == nil {
		return false
	}
	kids := env.launcher.kids
	return kids.isStarted(pid) || kids.justForked(pid) || kids.isStarted(pid)
}

// hold takes one of in's places beyond maxUnregistered, of which it has
// limit; nil is the pool of processes not yet known to be one instance's.
func (r *registration) hold(in *instance, limit int) (release func(), ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiting[in] >= limit {
		return nil, false
	}
	if r.waiting == nil {
		r.waiting = map[*instance]int{}
	}
	r.waiting[in]++
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.waiting[in]--; r.waiting[in] == 0 {
			delete(r.waiting, in)
		}
	}, true
}

// logRefusal logs a refused or shed connection, at most 20 a second with a
// count of those held back: a flood of them must not flood the log.
func (s *Supervisor) logRefusal(log *slog.Logger, msg string, args ...any) {
	ok, held := s.reg.logged.Allow(time.Now())
	if !ok {
		return
	}
	if held > 0 {
		args = append(args, "not_logged_before_this", held)
	}
	log.Warn(msg, args...)
}

// register runs the handshake of one new connection and hands it to the
// instance it claims to be, or rejects it. A peer that is not a process
// plugvisor is waiting for is refused before a byte is read from it.
func (s *Supervisor) register(c *net.UnixConn) {
	agent := s.cfg().Agent
	cred, err := unixsock.PeerCred(c)
	if err != nil {
		s.reg.refused.Add(1)
		s.logRefusal(s.log, "connection without peer credentials closed", "err", err)
		c.Close()
		return
	}
	log := s.log.With("peer_pid", cred.Pid)
	if len(s.owners(int(cred.Pid))) == 0 {
		s.refuseStranger(c, log, cred.Pid)
		return
	}
	conn := protocol.NewConn(c, protocol.Options{
		MaxFrame: registrationFrame, ReadTimeout: agent.RegistrationTimeout, WriteTimeout: agent.HeartbeatTimeout,
		BufferSize: 4 << 10,
	})
	j := joinReq{conn: conn, pid: int(cred.Pid), uid: cred.Uid}
	m, err := conn.Recv()
	var perr *protocol.Error
	switch {
	case errors.As(err, &perr):
		s.badHello(j, log, "the first frame is not a valid hello: "+perr.Error())
		return
	case err != nil:
		if protocol.IsTimeout(err) {
			err = fmt.Errorf("no hello within %s", agent.RegistrationTimeout)
		}
		s.logRefusal(log, "registration failed; connection closed", "err", err)
		conn.Close()
		return
	}
	hello, ok := m.(*protocol.Hello)
	if !ok {
		s.badHello(j, log, fmt.Sprintf("the first frame must be hello, not %s", m.Kind()))
		return
	}
	j.hello = hello
	s.claim(j, log)
}

// claim hands a hello to the instance it names.
func (s *Supervisor) claim(j joinReq, log *slog.Logger) {
	id := cmp.Or(j.hello.Instance, j.hello.Name)
	in := s.instance(id)
	if in == nil {
		s.reject(j.conn, log, newReject(protocol.RejectUnknownPlugin,
			fmt.Sprintf("no plugin instance %q (plugin %q) is configured for host %q", id, j.hello.Name, s.cfg().Agent.Host)))
		return
	}
	if rej := in.offer(j, s.cfg().Agent.RegistrationTimeout); rej != nil {
		s.reg.refused.Add(1)
		_ = j.conn.Send(rej)
		j.conn.Close()
	}
}

// badHello refuses a first frame that is not a valid hello. Such a frame
// names no instance, so the kernel's view of the peer says whose it is: from
// the process an instance started, it is that instance's failure, and a
// permanent one, since its next process would send the same frame.
func (s *Supervisor) badHello(j joinReq, log *slog.Logger, reason string) {
	j.bad = newReject(protocol.RejectBadHello, reason)
	for _, in := range s.owners(j.pid) {
		in.offer(j, s.cfg().Agent.RegistrationTimeout)
	}
	s.reject(j.conn, log, j.bad)
}

func (s *Supervisor) reject(conn *protocol.Conn, log *slog.Logger, rej *protocol.Reject) {
	s.reg.refused.Add(1)
	s.logRefusal(log, "registration rejected", "code", string(rej.Code), "reason", rej.Reason)
	_ = conn.Send(rej)
	conn.Close()
}

// refuseStranger turns away a peer in no plugin's process group, and not
// possibly the process of a plugin being started: it is told why, unread.
func (s *Supervisor) refuseStranger(c *net.UnixConn, log *slog.Logger, pid int32) {
	rej := newReject(protocol.RejectCredentials, fmt.Sprintf(
		"pid %d is not in the process group of any plugin this supervisor started, nor can it be one being started", pid))
	s.reg.refused.Add(1)
	s.logRefusal(log, "registration rejected", "code", string(rej.Code), "reason", rej.Reason)
	if frame, err := protocol.AppendFrame(nil, rej); err == nil {
		_, _ = unixsock.WriteOnce(c, frame)
	}
	c.Close()
}

// owners are the instances a connection from pid may belong to: the one
// whose process group it is in, or, when none is, those starting a process
// whose group is not recorded yet (the plugin may connect before its
// starter has noted its pid). Their run loops decide, from the credentials.
func (s *Supervisor) owners(pid int) []*instance {
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		return nil
	}
	s.mu.RLock()
	order := s.order
	s.mu.RUnlock()
	var starting []*instance
	for _, in := range order {
		switch g := in.group(); {
		case g == pgid:
			return []*instance{in}
		case g == 0 && in.state() == StateStarting:
			starting = append(starting, in)
		}
	}
	return starting
}

// newReject bounds reject.reason (PROTOCOL.md section 10): a reason may
// quote what the peer sent, and no peer may make the supervisor echo
// megabytes back or into its log. The mark of a cut fits within the bound.
func newReject(code protocol.RejectCode, reason string) *protocol.Reject {
	const mark = 24 // "…(+N bytes)"
	if len(reason) > maxPeerText {
		reason = clip.Text(reason, maxPeerText-mark)
	}
	return &protocol.Reject{Code: code, Reason: reason, Versions: protocol.Versions()}
}

type joinReq struct {
	conn  *protocol.Conn
	hello *protocol.Hello  // nil when bad is set
	bad   *protocol.Reject // the first frame was not a valid hello
	pid   int
	uid   uint32
	reply chan *protocol.Reject
}

// offer hands a connection that claims to be this instance to the run loop.
func (in *instance) offer(j joinReq, timeout time.Duration) *protocol.Reject {
	j.reply = make(chan *protocol.Reject, 1)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case in.joins <- j:
		return <-j.reply
	case <-in.quit:
	case <-t.C:
	}
	return newReject(protocol.RejectCredentials, fmt.Sprintf("instance %s is not accepting registrations now", in.id))
}

// join decides whether a connection that says it is this instance may
// register, and if so makes it the instance's session.
func (in *instance) join(j joinReq) *protocol.Reject {
	rej := in.admit(j)
	switch {
	case rej != nil && j.bad != nil:
		return j.bad // not this instance's process: its bad hello concerns no one here
	case rej != nil:
		return in.refuse(j.pid, rej)
	case j.bad != nil:
		in.permanent, in.exitWhy = true, "protocol rejected: bad hello: "+j.bad.Reason
		return in.refuse(j.pid, j.bad)
	}
	version, rej := in.checkHello(j)
	if rej != nil {
		return in.refuse(j.pid, rej)
	}
	in.log.Debug("hello accepted", "pid", j.pid, "since_exec", time.Since(in.proc.started))
	in.accept(j, version)
	return nil
}

// admit refuses a connection that is not this instance's own starting
// process.
func (in *instance) admit(j joinReq) *protocol.Reject {
	if in.sess != nil {
		return newReject(protocol.RejectAlreadyConnected, fmt.Sprintf("instance %s is already connected (pid %d)", in.id, in.st.PID))
	}
	if in.proc == nil || in.state() != StateStarting || in.exitWhy != "" {
		return newReject(protocol.RejectCredentials, fmt.Sprintf("instance %s is %s: the supervisor is not expecting it to register", in.id, cmp.Or(in.exitWhy, string(in.state()))))
	}
	uid, _ := credOf(in.config())
	if err := checkPeer(j.uid, uid, j.pid, in.proc.pgid, in.proc.pid); err != nil {
		return newReject(protocol.RejectCredentials, err.Error())
	}
	return nil
}

// checkHello checks the hello of the instance's own process and picks the
// protocol version. A reject here means the plugin cannot work as
// configured, and restarting it would only repeat that: it is permanent.
func (in *instance) checkHello(j joinReq) (uint16, *protocol.Reject) {
	p := in.config()
	if j.hello.PID != j.pid {
		in.permanent, in.exitWhy = true, "protocol rejected: hello.pid does not match the connection"
		return 0, newReject(protocol.RejectCredentials, fmt.Sprintf("hello says pid %d, but the kernel says the connection is from pid %d", j.hello.PID, j.pid))
	}
	if j.hello.Name != p.Name {
		in.permanent, in.exitWhy = true, "protocol rejected: wrong plugin name"
		return 0, newReject(protocol.RejectBadHello, fmt.Sprintf("instance %s belongs to plugin %q, not %q", in.id, p.Name, j.hello.Name))
	}
	version, err := protocol.Negotiate(protocol.Versions(), j.hello.Versions)
	if err != nil {
		in.permanent, in.exitWhy = true, "protocol rejected: "+err.Error()
		return 0, newReject(protocol.RejectVersion, err.Error())
	}
	return version, nil
}

func (in *instance) refuse(pid int, rej *protocol.Reject) *protocol.Reject {
	if ok, held := in.env.refusals.Allow(time.Now()); ok {
		in.log.Warn("registration rejected", "pid", pid, "code", string(rej.Code), "reason", rej.Reason, "permanent", in.permanent,
			"not_logged_before_this", held)
	}
	return rej
}

func (in *instance) accept(j joinReq, version uint16) {
	agent := in.env.settings()
	w := &protocol.Welcome{Protocol: version, Heartbeat: agent.HeartbeatInterval, Supervisor: agent.Name, MaxFrame: uint32(agent.MaxFrame)}
	if err := j.conn.Send(w); err != nil {
		in.log.Warn("welcome failed", "err", err)
		j.conn.Close()
		return
	}
	j.conn.SetMaxFrame(int(agent.MaxFrame)) // proven: the frame limit is the agent's from here on
	j.conn.SetReadTimeout(agent.HeartbeatTimeout)
	s := &session{
		conn: j.conn, name: in.name, instance: in.id, hello: j.hello, proto: version,
		heartbeat: agent.HeartbeatInterval, hbTimeout: agent.HeartbeatTimeout,
		bus: in.env.bus, rtts: in.rtts, tokens: in.env.tokens, beats: in.env.beats,
		pending: map[string]*pendingTask{}, pings: map[uint64]chan time.Duration{},
		replyTask: int64(agent.TaskReplyBuffer), replyAll: replySessionFactor * int64(agent.TaskReplyBuffer),
		pongs: latest.New[protocol.Pong](), done: make(chan struct{}),
	}
	in.permanent, in.exitWhy, in.exitNote, in.noGoodbye = false, "", "", false
	in.mu.Lock()
	in.sess = s
	in.st.PluginVersion, in.st.Protocol = j.hello.Version, version
	in.mu.Unlock()
	go s.run()
	in.stopTimer()
	in.setState(StateRunning, fmt.Sprintf("registered (pid %d, protocol v%d)", j.pid, version))
}
