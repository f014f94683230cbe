package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/bcrypt"

	"github.com/plugvisor/plugvisor/internal/testutil"
)

func init() {
	// testutil.Golden looks -update up; another test file of the package
	// may have defined it already.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files")
	}
}

// permWait bounds a hung test; no test waits for it to pass.
const permWait = 20 * time.Second

// permPrefix has two tokens, so the inbox prefix's dots become '_'.
const permPrefix = "acme.fleet"

// permGoldenOptions is a fleet the command line can express as well: a host
// with a password, one with an NKey, one with a bcrypt hash, an operator
// for all hosts and two scoped ones.
func permGoldenOptions() PermissionsOptions {
	return PermissionsOptions{
		Prefix: permPrefix,
		Hosts: []HostUser{
			{Name: "a", Password: "secret-a"},
			{Name: "b", NKey: "UAH75IVT5ZQB7A2FSLWRXMCW6JVYH6PWO4IPBNY7ZESIGZBMS5LJU32U"},
			{Name: "c", Password: "$2a$04$heEcXGCLGr0Wumt367qsROFIJ/F/hXx0MZFA60HKbmb5XHohF8ez6"}, // secret-c
		},
		Operators: []OperatorUser{
			{User: "ops", Password: "secret-ops"},
			{User: "alice", Password: "secret-alice", Hosts: []string{"a", "b"}},
			{NKey: "UDBLODKNPNZ2IIYCSPAVVAOYV2VLIGAGLDTLVPQV7WQCKR4AMSYM7HWP", Hosts: []string{"c"}},
		},
		HostsMayCreateStream: true,
	}
}

func permConfig(t *testing.T, o PermissionsOptions) string {
	t.Helper()
	var b strings.Builder
	if err := NATSConfig(&b, o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestNATSConfigGolden(t *testing.T) {
	got := permConfig(t, permGoldenOptions())
	if again := permConfig(t, permGoldenOptions()); again != got {
		t.Fatalf("two runs differ:\n%s", testutil.LineDiff(got, again))
	}
	testutil.Golden(t, "testdata", "nats-config", got)
}

// permServer runs a server on the config of o, included from a main config
// as an operator would.
func permServer(t *testing.T, o PermissionsOptions) *server.Server {
	t.Helper()
	return permServerConfig(t, permConfig(t, o))
}

func permServerConfig(t *testing.T, users string) *server.Server {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fleet-users.conf"), []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	main := fmt.Sprintf("listen: 127.0.0.1:-1\njetstream { store_dir: %s }\ninclude \"fleet-users.conf\"\n",
		confQuote(filepath.Join(dir, "js")))
	path := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(path, []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("the server refuses the config: %v\n%s", err, users)
	}
	opts.NoLog, opts.NoSigs = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(permWait) {
		t.Fatal("the server does not take connections")
	}
	return s
}

// permConn is a connection whose async errors the test reads.
type permConn struct {
	*nats.Conn
	errs chan error
}

func permDial(t *testing.T, s *server.Server, opts ...nats.Option) *permConn {
	t.Helper()
	c := &permConn{errs: make(chan error, 64)}
	opts = append(opts, nats.NoReconnect(), nats.PermissionErrOnSubscribe(true),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case c.errs <- err:
			default: // more errors than any test makes: the one awaited came earlier
			}
		}))
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	c.Conn = nc
	return c
}

// permHost connects as a host does: its login and its own inbox prefix.
func permHost(t *testing.T, s *server.Server, host string, login nats.Option) *permConn {
	t.Helper()
	return permDial(t, s, login, nats.CustomInboxPrefix(Subjects{permPrefix, host}.Inbox()))
}

// permOperator connects as an operator's tool does: its login and its own
// inbox prefix.
func permOperator(t *testing.T, s *server.Server, user, pw string) *permConn {
	t.Helper()
	return permDial(t, s, permPassword(user, pw), nats.CustomInboxPrefix(OperatorInbox(user)))
}

func permPassword(user, pw string) nats.Option { return nats.UserInfo(user, pw) }

func permNKeyLogin(t *testing.T, kp nkeys.KeyPair) nats.Option {
	t.Helper()
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return nats.Nkey(pub, kp.Sign)
}

func permUserKey(t *testing.T) (nkeys.KeyPair, string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return kp, pub
}

// refused waits for the server to report a permissions violation for
// what ("Publish to" or "Subscription to") subject on c.
func (c *permConn) js(t *testing.T) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(c.Conn)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func (c *permConn) refused(t *testing.T, what, subject string) {
	t.Helper()
	want := fmt.Sprintf("%s %q", what, subject)
	var seen []string
	timeout := time.After(permWait)
	for {
		select {
		case err := <-c.errs:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), want) {
				return
			}
			seen = append(seen, err.Error())
		case <-timeout:
			t.Fatalf("no permissions violation for %s (errors seen: %q)", want, seen)
		}
	}
}

// subscribeRefused checks that the server refuses c a subscription.
func (c *permConn) subscribeRefused(t *testing.T, subject string) {
	t.Helper()
	sub, err := c.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if _, err := sub.NextMsg(permWait); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("subscription to %s: %v, want a permissions violation", subject, err)
	}
	c.refused(t, "Subscription to", subject)
}

func permPublishAcked(t *testing.T, js jetstream.JetStream, subject string) {
	t.Helper()
	ack, err := js.PublishAsync(subject, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ack.Ok():
	case err := <-ack.Err():
		t.Fatalf("publish to %s: %v", subject, err)
	case <-time.After(permWait):
		t.Fatalf("no ack for %s", subject)
	}
}

func permCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), permWait)
	t.Cleanup(cancel)
	return c
}

func permTwoHosts() PermissionsOptions {
	return PermissionsOptions{
		Prefix:    permPrefix,
		Hosts:     []HostUser{{Name: "a", Password: "pa"}, {Name: "b", Password: "pb"}},
		Operators: []OperatorUser{{User: "ops", Password: "po"}},
	}
}

func TestNATSConfigHostPublishesItsOwn(t *testing.T) {
	o := permTwoHosts()
	o.HostsMayCreateStream = true
	s := permServer(t, o)
	sa, sb := Subjects{permPrefix, "a"}, Subjects{permPrefix, "b"}

	op := permOperator(t, s, "ops", "po")
	events, err := op.SubscribeSync(permPrefix + ".evt.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Flush(); err != nil {
		t.Fatal(err)
	}

	a := permHost(t, s, "a", permPassword("a", "pa"))
	js, err := jetstream.New(a.Conn)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.CreateStream(permCtx(t), jetstream.StreamConfig{Name: natsConfigStream, Subjects: []string{StreamSubjects(permPrefix)}})
	if err != nil {
		t.Fatalf("host a creates the stream: %v", err)
	}
	permPublishAcked(t, js, sa.Records("cpu", "load"))

	for _, subj := range []string{sa.Event("cpu"), sa.Event("")} {
		if err := a.Publish(subj, nil); err != nil {
			t.Fatal(err)
		}
		m, err := events.NextMsg(permWait)
		if err != nil {
			t.Fatalf("the operator never gets %s: %v", subj, err)
		}
		if m.Subject != subj {
			t.Errorf("event on %s, want %s", m.Subject, subj)
		}
	}

	// What is not a's to publish, the server drops and says so.
	denied := []string{
		sb.Records("cpu", "load"), sb.Event("cpu"), sa.API("status"), "$SRV.PING",
		"$JS.API.STREAM.DELETE." + natsConfigStream, "$JS.API.CONSUMER.CREATE." + natsConfigStream,
		sb.Inbox() + ".x",
	}
	for _, subj := range denied {
		if err := a.Publish(subj, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		a.refused(t, "Publish to", subj)
	}
	// A connection's messages are taken in order: once this one is
	// acked, b's record above was dealt with, and the stream must not
	// hold it.
	permPublishAcked(t, js, sa.Records("cpu", "load"))
	info, err := stream.Info(permCtx(t), jetstream.WithSubjectFilter(StreamSubjects(permPrefix)))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]uint64{sa.Records("cpu", "load"): 2}; fmt.Sprint(info.State.Subjects) != fmt.Sprint(want) {
		t.Errorf("stream holds %v, want %v", info.State.Subjects, want)
	}
}

func TestNATSConfigHostSubscribesToItsOwn(t *testing.T) {
	s := permServer(t, permTwoHosts())
	sb := Subjects{permPrefix, "b"}
	a := permHost(t, s, "a", permPassword("a", "pa"))
	for _, subj := range []string{
		sb.API("status"), sb.APIGroup() + ".>", permPrefix + ".api.>", "_INBOX.>", sb.Inbox() + ".>",
		permPrefix + ".rec.>", sb.AllEvents(), "$SRV.>", "$SRV.PING.other",
	} {
		a.subscribeRefused(t, subj)
	}
}

func TestNATSConfigStreamMadeByAnAdministrator(t *testing.T) {
	s := permServerConfig(t, permAdminConfig(t, permTwoHosts()))
	a := permHost(t, s, "a", permPassword("a", "pa"))
	js, err := jetstream.New(a.Conn)
	if err != nil {
		t.Fatal(err)
	}
	cfg := jetstream.StreamConfig{Name: natsConfigStream, Subjects: []string{StreamSubjects(permPrefix)}}
	c, cancel := context.WithCancel(permCtx(t))
	created := make(chan error, 1)
	go func() {
		_, err := js.CreateStream(c, cfg)
		created <- err
	}()
	a.refused(t, "Publish to", "$JS.API.STREAM.CREATE."+natsConfigStream)
	cancel()
	if err := <-created; err == nil {
		t.Fatal("host a created the stream")
	}

	// The lookup is allowed: its answer reaches a's inbox.
	if _, err := js.Stream(permCtx(t), natsConfigStream); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("host a looks up the missing stream: %v, want %v", err, jetstream.ErrStreamNotFound)
	}
	permAddStream(t, s)
	if _, err := js.Stream(permCtx(t), natsConfigStream); err != nil {
		t.Fatalf("host a looks up the stream: %v", err)
	}
	permPublishAcked(t, js, Subjects{permPrefix, "a"}.Records("p", "d"))
}

// permAdminConfig is the config of o with an administrator the fleet's
// config does not know: a user without permissions may do anything.
func permAdminConfig(t *testing.T, o PermissionsOptions) string {
	t.Helper()
	const users = "  users = [\n"
	c := permConfig(t, o)
	if !strings.Contains(c, users) {
		t.Fatalf("no users list in\n%s", c)
	}
	return strings.Replace(c, users, users+`    {user: "admin", password: "admin"}`+"\n", 1)
}

// permAddStream makes the stream as the administrator.
func permAddStream(t *testing.T, s *server.Server) {
	t.Helper()
	admin := permDial(t, s, permPassword("admin", "admin"))
	js, err := jetstream.New(admin.Conn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = js.CreateStream(permCtx(t), jetstream.StreamConfig{Name: natsConfigStream, Subjects: []string{StreamSubjects(permPrefix)}})
	if err != nil {
		t.Fatal(err)
	}
	admin.Close()
}

// serve runs host's API as the link does: a micro service whose whoami
// endpoint answers with the host's name.
func permServe(t *testing.T, c *permConn, host string) micro.Service {
	t.Helper()
	svc, err := micro.AddService(c.Conn, micro.Config{Name: natsServiceName, Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Stop() })
	permAddWhoami(t, svc, Subjects{permPrefix, host}.APIGroup(), host)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	return svc
}

func permAddWhoami(t *testing.T, svc micro.Service, group, host string) {
	t.Helper()
	err := svc.AddGroup(group).AddEndpoint("whoami", micro.HandlerFunc(func(r micro.Request) {
		r.Respond([]byte(host))
	}))
	if err != nil {
		t.Fatal(err)
	}
}

func permWhoami(t *testing.T, c *permConn, host string) string {
	t.Helper()
	m, err := c.Request(Subjects{permPrefix, host}.API("whoami"), nil, permWait)
	if err != nil {
		t.Fatalf("call %s: %v", host, err)
	}
	return string(m.Data)
}

// discover asks subject and returns the ids of the n services answering,
// and the inbox they answered on.
func permDiscover(t *testing.T, c *permConn, subject string, n int) ([]string, string) {
	t.Helper()
	inbox := c.NewInbox()
	sub, err := c.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := c.PublishRequest(subject, inbox, nil); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range n {
		m, err := sub.NextMsg(permWait)
		if err != nil {
			t.Fatalf("%s: %d answers, want %d: %v", subject, len(ids), n, err)
		}
		var info micro.Info
		if err := json.Unmarshal(m.Data, &info); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.ID)
	}
	return ids, inbox
}

func permSameSet(a, b []string) bool {
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestNATSConfigServiceAndOperators(t *testing.T) {
	bKey, bPub := permUserKey(t)
	o := permTwoHosts()
	o.Hosts[1] = HostUser{Name: "b", NKey: bPub}
	o.Operators = append(o.Operators, OperatorUser{User: "alice", Password: "pal", Hosts: []string{"a"}})
	s := permServer(t, o)
	a := permHost(t, s, "a", permPassword("a", "pa"))
	b := permHost(t, s, "b", permNKeyLogin(t, bKey))
	svcA, svcB := permServe(t, a, "a"), permServe(t, b, "b")
	idA, idB := svcA.Info().ID, svcB.Info().ID
	ops := permOperator(t, s, "ops", "po")
	alice := permOperator(t, s, "alice", "pal")

	if got := permWhoami(t, ops, "a"); got != "a" {
		t.Errorf("a answers %q", got)
	}
	if got := permWhoami(t, ops, "b"); got != "b" {
		t.Errorf("b answers %q", got)
	}
	if got := permWhoami(t, alice, "a"); got != "a" {
		t.Errorf("a answers alice %q", got)
	}
	bAPI := Subjects{permPrefix, "b"}.API("whoami")
	if err := alice.PublishRequest(bAPI, alice.NewInbox(), nil); err != nil {
		t.Fatal(err)
	}
	alice.refused(t, "Publish to", bAPI)

	for _, subj := range []string{"$SRV.PING", "$SRV.PING." + natsServiceName, "$SRV.INFO." + natsServiceName, "$SRV.STATS"} {
		if ids, _ := permDiscover(t, ops, subj, 2); !permSameSet(ids, []string{idA, idB}) {
			t.Errorf("%s answered by %v, want %s and %s", subj, ids, idA, idB)
		}
		// b may not answer on the inbox of alice, who may not call it:
		// discovery shows her only her hosts.
		ids, inbox := permDiscover(t, alice, subj, 1)
		if ids[0] != idA {
			t.Errorf("%s answered alice by %v, want %s", subj, ids, idA)
		}
		b.refused(t, "Publish to", inbox)
	}
	for _, c := range []*permConn{ops, alice} {
		for _, verb := range []string{"PING", "INFO", "STATS"} {
			subj := "$SRV." + verb + "." + natsServiceName + "." + idA
			if ids, _ := permDiscover(t, c, subj, 1); ids[0] != idA {
				t.Errorf("%s answered by %s", subj, ids[0])
			}
		}
	}

	// Each operator reads only its own inbox, and no one's _INBOX.
	for _, c := range []struct {
		c     *permConn
		other string
	}{{ops, "alice"}, {alice, "ops"}} {
		c.c.subscribeRefused(t, OperatorInbox(c.other)+".>")
		c.c.subscribeRefused(t, "_INBOX.>")
	}

	// a may not serve b's API: the subscription is refused, and b alone
	// answers there, while a's own service goes on.
	permAddWhoami(t, svcA, Subjects{permPrefix, "b"}.APIGroup(), "a")
	a.refused(t, "Subscription to", bAPI)
	if got := permWhoami(t, ops, "b"); got != "b" {
		t.Errorf("b's API answered by %q", got)
	}
	if got := permWhoami(t, ops, "a"); got != "a" {
		t.Errorf("a answers %q", got)
	}
}

func TestNATSConfigOperatorsReadTheStream(t *testing.T) {
	o := permTwoHosts()
	o.Operators = append(o.Operators, OperatorUser{User: "alice", Password: "pal", Hosts: []string{"a"}})
	s := permServerConfig(t, permAdminConfig(t, o))
	permAddStream(t, s)
	sa, sb := Subjects{permPrefix, "a"}, Subjects{permPrefix, "b"}
	a := permHost(t, s, "a", permPassword("a", "pa"))
	b := permHost(t, s, "b", permPassword("b", "pb"))
	for _, host := range []struct {
		c *permConn
		s Subjects
		n int
	}{{a, sa, 2}, {b, sb, 1}} {
		js, err := jetstream.New(host.c.Conn)
		if err != nil {
			t.Fatal(err)
		}
		for range host.n {
			permPublishAcked(t, js, host.s.Records("p", "d"))
		}
	}

	ops := permOperator(t, s, "ops", "po")
	permRead(t, ops, jetstream.ConsumerConfig{}, 3, "", false)
	durable := fmt.Sprintf(`{"stream_name":%q,"config":{"durable_name":"d1","ack_policy":"explicit"}}`, natsConfigStream)
	m, err := ops.Request("$JS.API.CONSUMER.DURABLE.CREATE."+natsConfigStream+".d1", []byte(durable), permWait)
	if err != nil || strings.Contains(string(m.Data), `"error"`) {
		t.Fatalf("the 2.9 durable create: %v %s", err, m.Data)
	}

	alice := permOperator(t, s, "alice", "pal")
	permRead(t, alice, jetstream.ConsumerConfig{Name: ScopedConsumer("alice", "a"), FilterSubject: sa.AllRecords(), InactiveThreshold: time.Minute},
		2, sa.AllRecords(), true)
	for _, subj := range []string{"$JS.API.CONSUMER.LIST." + natsConfigStream, "$JS.API.CONSUMER.NAMES." + natsConfigStream} {
		if err := alice.Publish(subj, nil); err != nil {
			t.Fatal(err)
		}
		alice.refused(t, "Publish to", subj)
	}
	for _, cfg := range []jetstream.ConsumerConfig{
		{Name: ScopedConsumer("alice", "b"), FilterSubject: sb.AllRecords()},
		{Name: "alice-a", FilterSubject: sa.AllRecords()},
		{Name: ScopedConsumer("ops", "a"), FilterSubject: sa.AllRecords()},
		{Name: "alice-all"},
		{Name: "alice-any", FilterSubject: StreamSubjects(permPrefix)},
	} {
		subj := "$JS.API.CONSUMER.CREATE." + natsConfigStream + "." + cfg.Name
		if cfg.FilterSubject != "" {
			subj += "." + cfg.FilterSubject
		}
		permCreateRefused(t, alice, cfg, subj)
	}

	// alice may not use a consumer of another's, even one on a's records
	// whose name she knows.
	stream, err := ops.js(t).Stream(permCtx(t), natsConfigStream)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := stream.CreateConsumer(permCtx(t), jetstream.ConsumerConfig{Name: "ops-reader", FilterSubject: sa.AllRecords()})
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{
		"$JS.API.CONSUMER.MSG.NEXT." + natsConfigStream + "." + theirs.CachedInfo().Name,
		"$JS.API.CONSUMER.INFO." + natsConfigStream + "." + theirs.CachedInfo().Name,
	} {
		if err := alice.PublishRequest(subj, alice.NewInbox(), []byte(`{"batch":1}`)); err != nil {
			t.Fatal(err)
		}
		alice.refused(t, "Publish to", subj)
	}

	// alice follows a's records live, not b's.
	alice.subscribeRefused(t, sb.AllRecords())
	alice.subscribeRefused(t, sb.AllEvents())
	live, err := alice.SubscribeSync(sa.AllRecords())
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(sa.Records("p", "live"), nil); err != nil {
		t.Fatal(err)
	}
	if m, err := live.NextMsg(permWait); err != nil || m.Subject != sa.Records("p", "live") {
		t.Fatalf("alice following a: %v %v", m, err)
	}
}

// read makes a consumer as c, fetches n records, all under want if set,
// and acks each, waiting for the server to confirm; then deletes it, which
// a scoped operator may not (its consumers end by their inactivity).
func permRead(t *testing.T, c *permConn, cfg jetstream.ConsumerConfig, n int, want string, scoped bool) {
	t.Helper()
	js, err := jetstream.New(c.Conn)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(permCtx(t), natsConfigStream)
	if err != nil {
		t.Fatalf("look the stream up: %v", err)
	}
	cfg.AckPolicy = jetstream.AckExplicitPolicy
	cons, err := stream.CreateConsumer(permCtx(t), cfg)
	if err != nil {
		t.Fatalf("create a consumer: %v", err)
	}
	if _, err := cons.Info(permCtx(t)); err != nil {
		t.Fatalf("consumer info: %v", err)
	}
	got := 0
	for got < n {
		batch, err := cons.Fetch(n-got, jetstream.FetchMaxWait(permWait))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			if want != "" && !strings.HasPrefix(m.Subject(), strings.TrimSuffix(want, ">")) {
				t.Errorf("record on %s, want %s", m.Subject(), want)
			}
			if err := m.DoubleAck(permCtx(t)); err != nil {
				t.Fatalf("ack: %v", err)
			}
			got++
		}
		if err := batch.Error(); err != nil {
			t.Fatalf("fetch: %v", err)
		}
	}
	if scoped {
		del := "$JS.API.CONSUMER.DELETE." + natsConfigStream + "." + cons.CachedInfo().Name
		if err := c.Publish(del, nil); err != nil {
			t.Fatal(err)
		}
		c.refused(t, "Publish to", del)
		return
	}
	if err := stream.DeleteConsumer(permCtx(t), cons.CachedInfo().Name); err != nil {
		t.Fatalf("delete the consumer: %v", err)
	}
}

func permCreateRefused(t *testing.T, c *permConn, cfg jetstream.ConsumerConfig, subject string) {
	t.Helper()
	js, err := jetstream.New(c.Conn)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(permCtx(t))
	created := make(chan error, 1)
	go func() {
		_, err := js.CreateConsumer(cctx, natsConfigStream, cfg)
		created <- err
	}()
	c.refused(t, "Publish to", subject)
	cancel()
	if err := <-created; err == nil {
		t.Errorf("consumer %s created", cfg.Name)
	}
}

func TestNATSConfigLogins(t *testing.T) {
	cKey, cPub := permUserKey(t)
	o := permGoldenOptions()
	o.Operators[2].NKey = cPub
	weird := HostUser{Name: "w", User: `we"ird\ us$er #1 // ü`, Password: `p"a\ss $HOME #x // ünï'{}[]:=,`}
	o.Hosts = append(o.Hosts, weird)
	s := permServer(t, o)
	for _, login := range []nats.Option{
		permPassword("a", "secret-a"), permPassword("c", "secret-c"), permPassword(weird.User, weird.Password),
		permPassword("ops", "secret-ops"), permPassword("alice", "secret-alice"), permNKeyLogin(t, cKey),
	} {
		permDial(t, s, login)
	}
	for _, bad := range [][2]string{{"a", "secret-c"}, {"c", o.Hosts[2].Password}, {"b", ""}, {"nobody", "x"}} {
		_, err := nats.Connect(s.ClientURL(), nats.UserInfo(bad[0], bad[1]), nats.NoReconnect())
		if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("login %q %q: %v, want %v", bad[0], bad[1], err, nats.ErrAuthorization)
		}
	}
}

func TestNATSConfigRefuses(t *testing.T) {
	with := func(change func(*PermissionsOptions)) PermissionsOptions {
		o := permTwoHosts()
		change(&o)
		return o
	}
	long := strings.Repeat("x", 65)
	tests := []struct {
		name string
		o    PermissionsOptions
		want string
	}{
		{"dot in a host", with(func(o *PermissionsOptions) { o.Hosts[0].Name = "a.b" }), `host "a.b"`},
		{"wildcard host", with(func(o *PermissionsOptions) { o.Hosts[0].Name = "*" }), `host "*"`},
		{"tail wildcard host", with(func(o *PermissionsOptions) { o.Hosts[0].Name = ">" }), `host ">"`},
		{"space in a host", with(func(o *PermissionsOptions) { o.Hosts[0].Name = "a b" }), `host "a b"`},
		{"empty host", with(func(o *PermissionsOptions) { o.Hosts[0].Name = "" }), `host ""`},
		{"long host", with(func(o *PermissionsOptions) { o.Hosts[0].Name = long }), `host "` + long + `"`},
		{"host twice", with(func(o *PermissionsOptions) { o.Hosts[1].Name = "a" }), `host "a" is given twice`},
		{"bad prefix", with(func(o *PermissionsOptions) { o.Prefix = "acme..fleet" }), `prefix "acme..fleet"`},
		{"wildcard prefix", with(func(o *PermissionsOptions) { o.Prefix = "acme.>" }), `token ">"`},
		{"bad stream", with(func(o *PermissionsOptions) { o.Stream = "A.B" }), `stream "A.B"`},
		{"nobody", PermissionsOptions{}, "no hosts and no operators"},
		{"no password", with(func(o *PermissionsOptions) { o.Hosts[0].Password = "" }), `host "a": no password`},
		{"password and nkey", with(func(o *PermissionsOptions) {
			o.Hosts[0].NKey = "UAH75IVT5ZQB7A2FSLWRXMCW6JVYH6PWO4IPBNY7ZESIGZBMS5LJU32U"
		}), `host "a": give a user and password or an NKey`},
		{"bad nkey", with(func(o *PermissionsOptions) { o.Hosts[0] = HostUser{Name: "a", NKey: "SUxyz"} }), `host "a": NKey "SUxyz"`},
		{"newline in a password", with(func(o *PermissionsOptions) { o.Hosts[0].Password = "x\ny" }), `host "a": password holds a control character`},
		{"not utf-8", with(func(o *PermissionsOptions) { o.Hosts[0].User = "\xff" }), `host "a": user is not UTF-8`},
		{"long password", with(func(o *PermissionsOptions) { o.Hosts[0].Password = strings.Repeat("p", 1025) }), `host "a": password longer`},
		{"operator user not a token", with(func(o *PermissionsOptions) { o.Operators[0].User = "ops team" }),
			`operator "ops team": an operator's user name must be one subject token`},
		{"login twice", with(func(o *PermissionsOptions) { o.Operators[0].User = "b" }), `operator "b": login "b" is host "b"'s already`},
		{"unknown scope", with(func(o *PermissionsOptions) { o.Operators[0].Hosts = []string{"a", "zz"} }), `operator "ops": host "zz" is not one of the hosts`},
		{"bad scope", with(func(o *PermissionsOptions) { o.Operators[0].Hosts = []string{"a.>"} }), `operator "ops": host "a.>"`},
		{"scope twice", with(func(o *PermissionsOptions) { o.Operators[0].Hosts = []string{"a", "a"} }), `host "a" is listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			err := NATSConfig(&b, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one with %s", err, tt.want)
			}
			if b.Len() > 0 {
				t.Errorf("wrote %d bytes of a refused config", b.Len())
			}
		})
	}
}

// command runs the command line as main would, with a cheap bcrypt.
func permCommand(args ...string) (int, string, string) {
	var stdout, stderr strings.Builder
	code := natsConfigCommand(args, &stdout, &stderr, bcrypt.MinCost)
	return code, stdout.String(), stderr.String()
}

func TestNATSConfigCommandWritesTheGolden(t *testing.T) {
	g := permGoldenOptions()
	code, out, errOut := permCommand("--prefix", permPrefix, "--hosts-may-create-stream", "--bcrypt=false",
		"--host", "a:secret-a", "--host-nkey", "b:"+g.Hosts[1].NKey, "--host", "c:"+g.Hosts[2].Password,
		"--operator", "ops:secret-ops", "--operator", "alice:secret-alice@a,b", "--operator-nkey", g.Operators[2].NKey+"@c")
	if code != natsExitOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := permConfig(t, g); out != want {
		t.Errorf("the command's config differs from NATSConfig's:\n%s", testutil.LineDiff(want, out))
	}
}

var permGeneratedLine = regexp.MustCompile(`^(host|operator) "([^"]+)": user "([^"]+)" password "([A-Za-z0-9_-]{32})"$`)

func TestNATSConfigCommandGeneratesPasswords(t *testing.T) {
	code, out, errOut := permCommand("--prefix", permPrefix, "--host", "a", "--host", "b:given@:pw",
		"--operator", "ops", "--operator", "alice:p@ss@", "--operator", "bob@a")
	if code != natsExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "# generated passwords") {
		t.Fatalf("stderr:\n%s", errOut)
	}
	logins := map[string]string{"b": "given@:pw", "alice": "p@ss"}
	for _, l := range lines[1:] {
		m := permGeneratedLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("generated password line %q", l)
		}
		logins[m[3]] = m[4]
		if strings.Contains(out, m[4]) {
			t.Errorf("the config holds %s's generated password, not its hash", m[3])
		}
	}
	if len(logins) != 5 || logins["a"] == logins["ops"] {
		t.Fatalf("logins %v", logins)
	}
	if n := strings.Count(out, `password: "$2a$04$`); n != 5 {
		t.Errorf("%d bcrypt hashes in the config, want 5", n)
	}
	s := permServerConfig(t, out)
	permHost(t, s, "a", permPassword("a", logins["a"]))
	permHost(t, s, "b", permPassword("b", logins["b"]))
	for _, op := range []string{"ops", "alice", "bob"} {
		permOperator(t, s, op, logins[op])
	}
	bob := permOperator(t, s, "bob", logins["bob"])
	bob.subscribeRefused(t, Subjects{permPrefix, "b"}.AllEvents())
}

func TestNATSConfigCommandFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleet-users.conf")
	code, out, errOut := permCommand("-o", path, "--host", "a:pa")
	if code != natsExitOK || out != "" || errOut != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	permServerConfig(t, string(b))
	if code, _, errOut := permCommand("-o", path, "--host", "a:pa"); code != natsExitFailure || !strings.Contains(errOut, path) {
		t.Errorf("over an existing file: exit %d, %s", code, errOut)
	}
}

func TestNATSConfigCommandUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no hosts and no operators"},
		{[]string{"--host", "web.1:s3cret"}, `host "web.1"`},
		{[]string{"--host", "a:"}, `host "a": empty password`},
		{[]string{"--host", "a", "--operator", "ops:"}, `operator "ops": empty password`},
		{[]string{"--host", "a", "--operator", "ops:s3cret@b"}, `host "b" is not one of the hosts`},
		{[]string{"--host", "a", "--operator", "ops:s3cret@a,,a"}, `host ""`},
		{[]string{"--host-nkey", "a"}, `--host-nkey wants NAME:UKEY`},
		{[]string{"--host-nkey", "a:s3cret"}, `NKey "s3cret"`},
		{[]string{"--host", "a", "--operator-nkey", "Ux"}, `NKey "Ux"`},
		{[]string{"--host", "a", "extra"}, `unexpected argument "extra"`},
		{[]string{"--nope"}, "nope"},
		{[]string{"--host", "a:" + strings.Repeat("x", 73)}, `host "a": password`},
	}
	for _, tt := range tests {
		code, out, errOut := permCommand(tt.args...)
		if code != natsExitUsage || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %s", tt.args, code, out, errOut, tt.want)
		}
		if strings.Contains(errOut, "s3cret:") || strings.Contains(errOut, ":s3cret") {
			t.Errorf("%q: stderr echoes the password: %s", tt.args, errOut)
		}
	}
	code, out, errOut := permCommand("-h")
	if code != natsExitOK || !strings.HasPrefix(out, "usage: plugvisor fleet nats-config") || errOut != "" {
		t.Errorf("-h: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
