package control_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/control"
	ct "github.com/plugvisor/plugvisor/control/controltest"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// nobody is a second, real uid: Debian's nobody.
const nobody = 65534

// runAsNobody runs this test binary in the dial role as uid nobody, from a
// copy nobody can execute, and returns its exit code and output.
func runAsNobody(t *testing.T, socket string) (int, string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Fatalf("this test needs root to start a process as uid %d (it runs as uid %d)", nobody, os.Getuid())
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "pvnobody")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "control.test")
	testutil.CopyExecutable(t, self, exe)
	cmd, out, err := testutil.CombinedOutput(func() *exec.Cmd {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), roleEnv+"=dial", "PV_SOCKET="+socket)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		return cmd
	})
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run as nobody: %v\n%s", err, out)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestSecondUIDCannotConnect: a real second uid is kept out by the socket's
// modes, and, when those are loosened by mistake, by the server's peer
// check.
func TestSecondUIDCannotConnect(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{})
	if code, out := runAsNobody(t, e.Socket); code != dialRefusedByFS {
		t.Fatalf("nobody through a 0700 directory: exit %d, want %d (refused by the file system)\n%s", code, dialRefusedByFS, out)
	}
	// Open the door wide, as a careless chmod would.
	if err := os.Chmod(e.Dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(e.Socket, 0o777); err != nil {
		t.Fatal(err)
	}
	code, out := runAsNobody(t, e.Socket)
	if code != dialRefusedByUID || !strings.Contains(out, "peer uid 65534") {
		t.Fatalf("nobody through open modes: exit %d, want %d (refused by uid)\n%s", code, dialRefusedByUID, out)
	}
	if logs := e.Logs.String(); !strings.Contains(logs, "control connection refused: peer uid 65534") {
		t.Fatalf("no log of the refusal:\n%s", logs)
	}
	// We still get in.
	c := e.Dial()
	if got := ct.SnapshotOf(t, c); len(got) != 1 {
		t.Fatalf("snapshot after the refusals: %v", got)
	}
}

// TestServeSocketModes: a socket dir open to others is refused and left as
// it was (chmod on a shared dir would break it for everyone); in a private
// dir a stale socket is replaced by a 0600 one that is removed at the end.
func TestServeSocketModes(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{})
	e.WaitState("echo", supervisor.StateRunning)
	loose := filepath.Join(e.Dir, "loose")
	if err := os.Mkdir(loose, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o777); err != nil {
		t.Fatal(err)
	}
	err := control.Serve(context.Background(), e.Sup, filepath.Join(loose, "ctl.sock"), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "has mode 0777") {
		t.Fatalf("a loose socket dir: %v", err)
	}
	if fi, _ := os.Stat(loose); fi.Mode().Perm() != 0o777 {
		t.Fatalf("the loose dir was changed to %v", fi.Mode().Perm())
	}

	dir := filepath.Join(e.Dir, "private")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ctl.sock")
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close() // a killed server's socket file, with nobody behind it
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- control.Serve(ctx, e.Sup, path, slog.New(slog.DiscardHandler)) }()
	var c *control.Client
	ct.WaitUntil(t, "the control socket", 10*time.Second, func() bool {
		c, err = control.Dial(ctx, path)
		return err == nil
	})
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode %v (%v), want a 0600 socket", fi.Mode(), err)
	}
	if _, err := c.SendTask(ctx, supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "x"}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	c.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind after Serve returned: %v", err)
	}
}

// TestDisconnectMidStream: a client that vanishes with a subscription and
// tasks in flight cancels them, and the supervisor serves the next client.
func TestDisconnectMidStream(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "chaos", ct.Bin("chaos"), `args = ["--flood-rate", "2000"]`), ct.Options{})
	e.WaitState("chaos", supervisor.StateRunning)
	watch, unwatch, _ := e.Sup.Subscribe(context.Background(), 100000)
	defer unwatch()

	c := e.Dial()
	events, _, _ := c.Subscribe(context.Background(), 16) // never read past the first: the server's side fills up
	<-events
	const sleepers = 5
	errs := make(chan error, sleepers)
	for range sleepers {
		go func() {
			_, err := c.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "chaos", ID: 8, Content: "30s"}) // 8: sleep, then reply
			errs <- err
		}()
	}
	ct.WaitUntil(t, "sleep tasks in flight", 10*time.Second, func() bool {
		return e.Server.Stats().InFlight == sleepers+1 && e.Status("chaos").InFlight == sleepers
	})
	c.Close()
	for range sleepers {
		if err := <-errs; !errors.Is(err, control.ErrConnClosed) {
			t.Fatalf("task on a closed client: %v, want ErrConnClosed", err)
		}
	}
	ct.WaitUntil(t, "the server to let go of the client", 10*time.Second, func() bool {
		st := e.Server.Stats()
		return st.Conns == 0 && st.InFlight == 0 && st.Subscriptions == 0
	})
	// The supervisor abandoned the tasks because their contexts ended.
	canceled := 0
	ct.WaitUntil(t, "the abandoned tasks' events", 10*time.Second, func() bool {
		for {
			select {
			case ev := <-watch:
				if ev.Type == supervisor.EventTask && ev.Task.ID == 8 && ev.Task.Outcome == supervisor.OutcomeCancelled {
					canceled++
				}
				continue
			default:
			}
			return canceled == sleepers
		}
	})
	if st := e.Status("chaos"); st.State != supervisor.StateRunning || st.InFlight != 0 {
		t.Fatalf("chaos after the client left: %s, %d in flight", st.State, st.InFlight)
	}
	c2 := e.Dial()
	if r, err := c2.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "chaos", ID: 4, Content: "1"}); err != nil || r.Status != protocol.StatusOK {
		t.Fatalf("a second client's task: %+v %v", r, err)
	}
}

// rawConn is a control connection driven byte by byte.
type rawConn struct {
	t  *testing.T
	nc net.Conn
}

func dialRaw(t *testing.T, path string) *rawConn {
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc}
}

func (r *rawConn) write(b []byte) {
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) send(v any) {
	f, err := control.Encode(v)
	if err != nil {
		r.t.Fatal(err)
	}
	r.write(f)
}

func (r *rawConn) hello() {
	r.send(&control.Request{Kind: control.KindRequest, ID: 1, Op: control.OpHello, Versions: []uint16{control.Version}})
	if resp := r.recv(); resp.Error != nil {
		r.t.Fatalf("hello: %v", resp.Error)
	}
}

// response is a Response as a generic client decodes it.
type response struct {
	Kind   control.Kind   `json:"kind"`
	ID     uint64         `json:"id"`
	Error  *control.Error `json:"error"`
	Result any            `json:"result"`
}

func (r *rawConn) recv() response {
	r.t.Helper()
	_ = r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	payload, err := protocol.ReadFrame(r.nc, nil, 0)
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	var resp response
	if err := control.Decode(payload, &resp); err != nil {
		r.t.Fatal(err)
	}
	return resp
}

// closed reports whether the server closed the connection (after its last
// words, which it returns).
func (r *rawConn) closed() (last []response, ok bool) {
	_ = r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		payload, err := protocol.ReadFrame(r.nc, nil, 0)
		if errors.Is(err, io.EOF) {
			r.nc.Close() // as a client would: the server lingers until we do
			return last, true
		}
		if err != nil {
			return last, false
		}
		var resp response
		if err := control.Decode(payload, &resp); err != nil {
			return last, false
		}
		last = append(last, resp)
	}
}

func frame(payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

// TestBadFramesEndOnlyThatConnection: each kind of bad frame closes its own
// connection with a reason (to the client and in the log); a bystander's
// connection carries on.
func TestBadFramesEndOnlyThatConnection(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{})
	e.WaitState("echo", supervisor.StateRunning)
	bystander := e.Dial()
	req := func(v *control.Request) []byte {
		f, err := control.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	cases := []struct {
		name  string
		hello bool
		bytes []byte
		want  string
	}{
		{"zero length", true, []byte{0, 0, 0, 0}, "zero-length frame"},
		{"too large", true, []byte{0x7f, 0xff, 0xff, 0xff}, "frame too large"},
		{"not msgpack", true, frame([]byte{0xc1, 0xc1}), "want map"},
		{"not a map", true, frame([]byte{0x92, 0x01, 0x02}), "want map"},
		{"bytes after the message", true, frame(append(req(&control.Request{Kind: control.KindRequest, ID: 5, Op: control.OpInfo})[4:], 0xc0)), "1 bytes after the message"},
		{"unknown kind", true, req(&control.Request{Kind: "launch", ID: 5}), `kind "launch" is not request or cancel`},
		{"id zero", true, req(&control.Request{Kind: control.KindRequest, Op: control.OpInfo}), "has id 0"},
		{"before hello", false, req(&control.Request{Kind: control.KindRequest, ID: 5, Op: control.OpSnapshot}), "snapshot before hello"},
		{"wrong type", true, frame([]byte{0x82, 0xa4, 'k', 'i', 'n', 'd', 0x07, 0xa2, 'i', 'd', 0x01}), "request.kind: want string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, e.Socket)
			if tc.hello {
				r.hello()
			}
			r.write(tc.bytes)
			last, closed := r.closed()
			if !closed {
				t.Fatal("the server kept the connection open")
			}
			if len(last) == 0 || last[len(last)-1].Error == nil || last[len(last)-1].Error.Code != control.CodeProtocol ||
				!strings.Contains(last[len(last)-1].Error.Message, tc.want) {
				t.Fatalf("last words %+v, want a protocol error containing %q", last, tc.want)
			}
			ct.WaitUntil(t, "the log line", 5*time.Second, func() bool {
				return strings.Contains(e.Logs.String(), strings.ReplaceAll(tc.want, `"`, `\"`)) // slog quotes the error
			})
		})
	}
	if r, err := bystander.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "still here"}); err != nil || r.Records[0].Fields["content"] != "still here" {
		t.Fatalf("bystander: %+v %v", r, err)
	}
}

func TestHelloVersionAndUnknownOp(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{})
	r := dialRaw(t, e.Socket)
	r.send(&control.Request{Kind: control.KindRequest, ID: 1, Op: control.OpHello, Versions: []uint16{99}})
	if resp := r.recv(); resp.Error == nil || resp.Error.Code != control.CodeVersion || resp.ID != 1 {
		t.Fatalf("hello with version 99: %+v", resp)
	}
	r.nc.Close()
	r = dialRaw(t, e.Socket)
	r.hello()
	r.send(&control.Request{Kind: control.KindRequest, ID: 2, Op: "launch"})
	r.send(&control.Request{Kind: control.KindRequest, ID: 3, Op: control.OpStart})
	r.send(&control.Request{Kind: control.KindCancel, ID: 77}) // nothing to cancel: ignored
	r.send(&control.Request{Kind: control.KindRequest, ID: 4, Op: control.OpInfo, Content: "extra args are ignored"})
	got := map[uint64]response{}
	for range 3 {
		resp := r.recv()
		got[resp.ID] = resp
	}
	if got[2].Error == nil || got[2].Error.Code != control.CodeUnknownOp {
		t.Fatalf("unknown op: %+v", got[2])
	}
	if got[3].Error == nil || got[3].Error.Code != control.CodeBadRequest {
		t.Fatalf("start without a name: %+v", got[3])
	}
	if got[4].Error != nil || got[4].Result.(map[string]any)["name"] != "ctltest" {
		t.Fatalf("info: %+v", got[4])
	}
}

// TestTooManyRequests: beyond its bound a connection's requests are refused
// at once, and cancelling the others frees their slots.
func TestTooManyRequests(t *testing.T) {
	const bound = 4
	e := ct.Start(t, ct.Plugin(t, "chaos", ct.Bin("chaos"), ""), ct.Options{Server: func(s *control.Server) { s.MaxInFlight = bound }})
	e.WaitState("chaos", supervisor.StateRunning)
	c := e.Dial()
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, bound)
	for range bound {
		go func() {
			_, err := c.SendTask(ctx, supervisor.TaskRequest{Plugin: "chaos", ID: 8, Content: "30s"})
			errs <- err
		}()
	}
	ct.WaitUntil(t, "the bound to fill", 10*time.Second, func() bool { return e.Server.Stats().InFlight == bound })
	_, err := c.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "chaos", ID: 4, Content: "1"})
	if !errors.Is(err, control.ErrTooManyRequests) || !strings.Contains(err.Error(), "too many requests in flight") {
		t.Fatalf("request beyond the bound: %v", err)
	}
	cancel()
	for range bound {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled task: %v", err)
		}
	}
	ct.WaitUntil(t, "the slots to free", 10*time.Second, func() bool { return e.Server.Stats().InFlight == 0 })
	if _, err := c.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "chaos", ID: 4, Content: "1"}); err != nil {
		t.Fatalf("after the cancels: %v", err)
	}
}

// TestClientThatStopsReadingIsDropped: a client that sends requests and
// never reads their responses is disconnected once a write has waited the
// write timeout; nobody else waits for it.
func TestClientThatStopsReadingIsDropped(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), `instances = 8`), ct.Options{
		Server: func(s *control.Server) { s.WriteTimeout = 300 * time.Millisecond }})
	e.WaitState("echo.7", supervisor.StateRunning)
	r := dialRaw(t, e.Socket)
	r.hello()
	var burst bytes.Buffer
	for i := range 3000 {
		f, _ := control.Encode(&control.Request{Kind: control.KindRequest, ID: uint64(i + 2), Op: control.OpSnapshot})
		burst.Write(f)
	}
	go r.nc.Write(burst.Bytes()) // may block: the server stops reading us too
	ct.WaitUntil(t, "the server to drop the client", 20*time.Second, func() bool {
		return strings.Contains(e.Logs.String(), "control client dropped: it is not reading")
	})
	ct.WaitUntil(t, "the connection to go", 10*time.Second, func() bool {
		st := e.Server.Stats()
		return st.Conns == 0 && st.InFlight == 0
	})
	c := e.Dial()
	if got := ct.SnapshotOf(t, c); len(got) != 8 {
		t.Fatalf("snapshot after the drop: %d instances", len(got))
	}
}

// TestSubscriberDropsAreCounted: a client subscriber that does not keep up
// loses events, and is told how many.
func TestSubscriberDropsAreCounted(t *testing.T) {
	e := ct.Start(t, ct.Plugin(t, "chaos", ct.Bin("chaos"), `args = ["--flood-rate", "5000"]`), ct.Options{})
	e.WaitState("chaos", supervisor.StateRunning)
	c := e.Dial()
	events, cancel, _ := c.Subscribe(context.Background(), 4)
	defer cancel()
	// Not reading: the flood overflows 4 slots, which the server counts.
	ct.WaitUntil(t, "the server to count dropped events", 10*time.Second, func() bool {
		return ct.InfoOf(t, c).DroppedEvents > 0
	})
	var dropped uint64
	ct.WaitUntil(t, "an EventDropped", 10*time.Second, func() bool {
		ev := <-events
		if ev.Type == supervisor.EventDropped {
			dropped += ev.Dropped
		}
		return dropped > 0
	})
	if info := ct.InfoOf(t, c); info.DroppedEvents == 0 {
		t.Fatalf("Info().DroppedEvents = 0 after %d drops", dropped)
	}
}

// responses reads frames until it has n responses, skipping events.
func (r *rawConn) responses(n int) map[uint64]response {
	r.t.Helper()
	got := map[uint64]response{}
	for len(got) < n {
		if resp := r.recv(); resp.Kind == control.KindResponse {
			got[resp.ID] = resp
		}
	}
	return got
}

// TestSubscriptionLimits: a connection may hold at most MaxSubscriptions
// subscriptions, each of at most MaxEventBuffer events; beyond either the
// subscribe is refused with a reason, and an ended subscription frees its
// slot. The Go client asks for no more than the server allows.
func TestSubscriptionLimits(t *testing.T) {
	const bound = 3
	e := ct.Start(t, ct.Plugin(t, "echo", ct.Bin("echo"), ""), ct.Options{Server: func(s *control.Server) { s.MaxSubscriptions = bound }})
	e.WaitState("echo", supervisor.StateRunning)
	r := dialRaw(t, e.Socket)
	r.hello()
	subscribe := func(id uint64, buffer int) {
		r.send(&control.Request{Kind: control.KindRequest, ID: id, Op: control.OpSubscribe, Buffer: buffer})
	}
	subscribe(2, control.MaxEventBuffer+1)
	for id := range uint64(bound + 1) {
		subscribe(10+id, 8)
	}
	got := r.responses(bound + 2)
	if e := got[2].Error; e == nil || e.Code != control.CodeBadRequest || !strings.Contains(e.Message, "buffer 16385 exceeds the limit of 16384 events") {
		t.Fatalf("a buffer above the limit: %+v", got[2])
	}
	for id := range uint64(bound) {
		if e := got[10+id].Error; e != nil {
			t.Fatalf("subscription %d of %d: %v", id+1, bound, e)
		}
	}
	if e := got[10+bound].Error; e == nil || e.Code != control.CodeTooManyRequests || !strings.Contains(e.Message, "this connection already has 3 subscriptions") {
		t.Fatalf("a subscription beyond the bound: %+v", got[10+bound])
	}
	ct.WaitUntil(t, "the subscriptions", 10*time.Second, func() bool { return e.Server.Stats().Subscriptions == bound })
	r.send(&control.Request{Kind: control.KindCancel, ID: 10})
	ct.WaitUntil(t, "the cancelled subscription to end", 10*time.Second, func() bool { return e.Server.Stats().Subscriptions == bound-1 })
	subscribe(20, control.MaxEventBuffer)
	if resp := r.responses(1)[20]; resp.Error != nil {
		t.Fatalf("a subscription after a cancel: %v", resp.Error)
	}

	// The Go client keeps a larger buffer itself and asks the server for
	// what it allows.
	c := e.Dial()
	events, cancel, _ := c.Subscribe(context.Background(), 4*control.MaxEventBuffer)
	defer cancel()
	select {
	case _, ok := <-events:
		if !ok {
			t.Fatalf("the Go client's large subscription was refused: %v", c.Err())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event on the Go client's large subscription")
	}
}
