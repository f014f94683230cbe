package supervisor

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/plugvisor/plugvisor/internal/unixsock"
	"github.com/plugvisor/plugvisor/protocol"
)

// accept serves the plugin socket until it is closed.
func (s *Supervisor) accept(ln *net.UnixListener) {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Error("accept", "err", err)
			}
			return
		}
		go s.register(c)
	}
}

// register runs the handshake of one new connection and hands it to the
// instance it claims to be, or rejects it.
func (s *Supervisor) register(c *net.UnixConn) {
	agent := s.cfg().Agent
	cred, err := unixsock.PeerCred(c)
	if err != nil {
		s.log.Warn("connection without peer credentials closed", "err", err)
		c.Close()
		return
	}
	log := s.log.With("peer_pid", cred.Pid)
	conn := protocol.NewConn(c, protocol.Options{
		MaxFrame: int(agent.MaxFrame), ReadTimeout: agent.RegistrationTimeout, WriteTimeout: agent.HeartbeatTimeout,
		BufferSize: 4 << 10,
	})
	m, err := conn.Recv()
	if err != nil {
		if protocol.IsTimeout(err) {
			err = fmt.Errorf("no hello within %s", agent.RegistrationTimeout)
		}
		log.Warn("registration failed; connection closed", "err", err)
		conn.Close()
		return
	}
	hello, ok := m.(*protocol.Hello)
	if !ok {
		s.reject(conn, log, protocol.RejectBadHello, fmt.Sprintf("the first frame must be hello, not %s", m.Kind()))
		return
	}
	id := hello.Instance
	if id == "" {
		id = hello.Name
	}
	in := s.instance(id)
	if in == nil {
		s.reject(conn, log, protocol.RejectUnknownPlugin, fmt.Sprintf("no plugin instance %q (plugin %q) is configured for host %q", id, hello.Name, s.cfg().Agent.Host))
		return
	}
	if rej := in.offer(joinReq{conn: conn, hello: hello, pid: int(cred.Pid), uid: cred.Uid}, agent.RegistrationTimeout); rej != nil {
		_ = conn.Send(rej)
		conn.Close()
	}
}

func (s *Supervisor) reject(conn *protocol.Conn, log *slog.Logger, code protocol.RejectCode, reason string) {
	log.Warn("registration rejected", "code", string(code), "reason", reason)
	_ = conn.Send(&protocol.Reject{Code: code, Reason: reason, Versions: protocol.Versions()})
	conn.Close()
}

type joinReq struct {
	conn  *protocol.Conn
	hello *protocol.Hello
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
	return &protocol.Reject{Code: protocol.RejectCredentials, Reason: fmt.Sprintf("instance %s is not accepting registrations now", in.id), Versions: protocol.Versions()}
}

// join decides whether a connection that says it is this instance may
// register, and if so makes it the instance's session.
func (in *instance) join(j joinReq) *protocol.Reject {
	p := in.config()
	reject := func(code protocol.RejectCode, format string, args ...any) *protocol.Reject {
		r := &protocol.Reject{Code: code, Reason: fmt.Sprintf(format, args...), Versions: protocol.Versions()}
		in.log.Warn("registration rejected", "pid", j.pid, "code", string(code), "reason", r.Reason)
		return r
	}
	if in.sess != nil {
		return reject(protocol.RejectAlreadyConnected, "instance %s is already connected (pid %d)", in.id, in.st.PID)
	}
	if in.proc == nil || in.state() != StateStarting || in.exitWhy != "" {
		return reject(protocol.RejectCredentials, "instance %s is %s: the supervisor is not expecting it to register", in.id, cmp.Or(in.exitWhy, string(in.state())))
	}
	if err := checkPeer(j.uid, j.pid, in.proc.pgid, in.proc.pid); err != nil {
		return reject(protocol.RejectCredentials, "%s", err)
	}
	// From here the peer is this instance's own process: a reject means it
	// cannot work as configured, and restarting it would only repeat that.
	if j.hello.PID != j.pid {
		in.permanent, in.exitWhy = true, "protocol rejected: hello.pid does not match the connection"
		return reject(protocol.RejectCredentials, "hello says pid %d, but the kernel says the connection is from pid %d", j.hello.PID, j.pid)
	}
	if j.hello.Name != p.Name {
		in.permanent, in.exitWhy = true, "protocol rejected: wrong plugin name"
		return reject(protocol.RejectBadHello, "instance %s belongs to plugin %q, not %q", in.id, p.Name, j.hello.Name)
	}
	version, err := protocol.Negotiate(protocol.Versions(), j.hello.Versions)
	if err != nil {
		in.permanent, in.exitWhy = true, "protocol rejected: "+err.Error()
		return reject(protocol.RejectVersion, "%s", err)
	}
	in.log.Debug("hello accepted", "pid", j.pid, "since_exec", time.Since(in.proc.started))
	in.accept(j, version)
	return nil
}

func (in *instance) accept(j joinReq, version uint16) {
	agent := in.env.settings()
	w := &protocol.Welcome{Protocol: version, Heartbeat: agent.HeartbeatInterval, Supervisor: agent.Name, MaxFrame: uint32(j.conn.MaxFrame())}
	if err := j.conn.Send(w); err != nil {
		in.log.Warn("welcome failed", "err", err)
		j.conn.Close()
		return
	}
	j.conn.SetReadTimeout(agent.HeartbeatTimeout)
	s := &session{
		conn: j.conn, name: in.name, instance: in.id, hello: j.hello, proto: version,
		heartbeat: agent.HeartbeatInterval, hbTimeout: agent.HeartbeatTimeout,
		bus: in.env.bus, rtts: in.rtts, tokens: in.env.tokens,
		pending: map[string]*pendingTask{}, pings: map[uint64]chan time.Duration{},
		pongs: make(chan protocol.Pong, 1), done: make(chan struct{}),
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
