package fleet

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/bcrypt"

	"github.com/plugvisor/plugvisor/internal/private"
)

// HostUser is the NATS login of one host: a user and password, or an NKey.
type HostUser struct {
	// Name is the host's token in subjects, which Token leaves unchanged:
	// [A-Za-z0-9_-], 1 to 64 bytes.
	Name string
	// User is the login name; Name when empty. Unused with NKey.
	User string
	// Password is the plain text, or a bcrypt hash ("$2a$…", as the server
	// recognises it) that the server checks the plain text against, so the
	// config need not hold the password.
	Password string
	// NKey is the public key ("U…") of a user NKey the host signs in with,
	// instead of User and Password.
	NKey string
}

// OperatorUser is the NATS login of one operator: User and Password, or
// NKey, as for a host. The login (User, or NKey) is one subject token: it
// names the operator's inbox, OperatorInbox(login), where it takes its
// replies and the one inbox it may read.
type OperatorUser struct {
	User, Password, NKey string
	// Hosts scopes the operator to these hosts' API, events and records;
	// empty means every host, those added later too.
	Hosts []string
}

// PermissionsOptions is what NATSConfig writes the users of.
type PermissionsOptions struct {
	Prefix string // subject prefix; "plugvisor" when empty
	Stream string // the records stream; "PLUGVISOR_RECORDS" when empty
	Hosts  []HostUser
	// Operators are the people and tools that call the hosts.
	Operators []OperatorUser
	// HostsMayCreateStream lets a host create the stream when it finds
	// none; otherwise an administrator creates it.
	HostsMayCreateStream bool
}

// The defaults of PermissionsOptions. Named for this file: the link's
// own settings keep theirs.
const (
	natsConfigPrefix = "plugvisor"
	natsConfigStream = "PLUGVISOR_RECORDS"
	// natsServiceName is the micro service every host serves its API as.
	natsServiceName = "plugvisor"
)

// Bounds on what a config takes from outside.
const (
	confMaxPrefix   = 128
	confMaxLogin    = 256
	confMaxPassword = 1024
)

// confBcryptHash is how nats-server tells a bcrypt hash from a plain password.
var confBcryptHash = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\$2[abxy]\$\d{2}\$`) })

// NATSConfig writes a nats-server (2.9 and later) config fragment: an
// authorization block with one user per host and operator, each allowed
// only what it needs, behind a comment that says what each may do.
// Nothing is written if the options are refused.
//
// A host may publish its own records (into the stream), events and
// presence (Subjects.Presence, so a presence names its sender), look up
// the stream (and create it if HostsMayCreateStream), serve its API, the
// fleet's call for presence (Discover) and the micro discovery subjects,
// answer on the inboxes of the operators that may call it, and receive
// only on its own inbox prefix (Subjects.Inbox). An operator may call the
// API and discovery of its hosts, hear their presence, follow their
// events and records, read the stream through
// consumers, and receive only on its own inbox (OperatorInbox). A scoped
// operator may create, look up, fetch from and acknowledge only the
// consumers named ScopedConsumer(login, host) for its hosts, each filtered
// on that host's records (the name and the filter are in the API subject).
// Scoping bounds what an operator may ask for; an operator still sees
// every host in $SRV discovery requests it sends (hosts out of its scope
// cannot answer), and a scoped operator's consumer may be durable, which
// it cannot delete.
func NATSConfig(w io.Writer, o PermissionsOptions) error {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return err
	}
	var b strings.Builder
	writeConfHeader(&b, o)
	b.WriteString("authorization {\n  users = [\n")
	for _, h := range o.Hosts {
		writeConfUser(&b, hostConfUser(o, h))
	}
	for _, op := range o.Operators {
		writeConfUser(&b, operatorConfUser(o, op))
	}
	b.WriteString("  ]\n}\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("nats config: %w", err)
	}
	return nil
}

func (o PermissionsOptions) withDefaults() PermissionsOptions {
	if o.Prefix == "" {
		o.Prefix = natsConfigPrefix
	}
	if o.Stream == "" {
		o.Stream = natsConfigStream
	}
	return o
}

// validate refuses what would make a wrong or unloadable config: names
// are checked, never escaped, so a subject means what it says.
func (o PermissionsOptions) validate() error {
	if err := checkConfPrefix(o.Prefix); err != nil {
		return err
	}
	if !validToken(o.Stream) {
		return fmt.Errorf("stream %q: a stream name must be one subject token ([A-Za-z0-9_-], 1 to %d bytes)", o.Stream, maxToken)
	}
	if len(o.Hosts)+len(o.Operators) == 0 {
		return errors.New("nats config: no hosts and no operators")
	}
	hosts := make(map[string]bool, len(o.Hosts))
	logins := make(map[string]string)
	for _, h := range o.Hosts {
		what := fmt.Sprintf("host %q", h.Name)
		if !validToken(h.Name) {
			return fmt.Errorf("%s: a host name must be one subject token ([A-Za-z0-9_-], 1 to %d bytes)", what, maxToken)
		}
		if hosts[h.Name] {
			return fmt.Errorf("%s is given twice", what)
		}
		hosts[h.Name] = true
		if h.NKey != "" && h.User != "" {
			return fmt.Errorf("%s: give a user and password or an NKey, not both", what)
		}
		if err := checkConfLogin(logins, what, hostConfLogin(h), h.Password, h.NKey); err != nil {
			return err
		}
	}
	for _, op := range o.Operators {
		what := fmt.Sprintf("operator %q", operatorConfLogin(op))
		if err := checkConfLogin(logins, what, op.User, op.Password, op.NKey); err != nil {
			return err
		}
		if !validToken(operatorConfLogin(op)) {
			return fmt.Errorf("%s: an operator's user name must be one subject token ([A-Za-z0-9_-], 1 to %d bytes): it names the operator's inbox, %s",
				what, maxToken, OperatorInbox("<user>"))
		}
		if err := checkConfScope(what, op.Hosts, hosts); err != nil {
			return err
		}
	}
	return nil
}

func checkConfPrefix(p string) error {
	if len(p) > confMaxPrefix {
		return fmt.Errorf("prefix %q: longer than %d bytes", p, confMaxPrefix)
	}
	for _, t := range strings.Split(p, ".") {
		if !validToken(t) {
			return fmt.Errorf("prefix %q: token %q is not [A-Za-z0-9_-], 1 to %d bytes", p, t, maxToken)
		}
	}
	return nil
}

// checkConfLogin checks one user's login, and that no one else has it.
func checkConfLogin(logins map[string]string, what, user, password, nkey string) error {
	login := user
	if nkey != "" {
		if user != "" || password != "" {
			return fmt.Errorf("%s: give a user and password or an NKey, not both", what)
		}
		if !nkeys.IsValidPublicUserKey(nkey) {
			return fmt.Errorf("%s: NKey %q is not the public key of a user NKey (U…)", what, nkey)
		}
		login = nkey
	} else {
		if err := checkLoginText(what, "user", user, confMaxLogin); err != nil {
			return err
		}
		if err := checkLoginText(what, "password", password, confMaxPassword); err != nil {
			return err
		}
	}
	if other, ok := logins[login]; ok {
		return fmt.Errorf("%s: login %q is %s's already", what, login, other)
	}
	logins[login] = what
	return nil
}

// checkLoginText refuses what no one types as a login: nothing, a control
// character, text that is not UTF-8, or more than max bytes.
func checkLoginText(what, field, s string, max int) error {
	switch {
	case s == "":
		return fmt.Errorf("%s: no %s", what, field)
	case len(s) > max:
		return fmt.Errorf("%s: %s longer than %d bytes", what, field, max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s: %s is not UTF-8", what, field)
	case strings.ContainsFunc(s, unicode.IsControl):
		return fmt.Errorf("%s: %s holds a control character", what, field)
	}
	return nil
}

func checkConfScope(what string, scope []string, hosts map[string]bool) error {
	seen := make(map[string]bool, len(scope))
	for _, h := range scope {
		switch {
		case !validToken(h):
			return fmt.Errorf("%s: host %q: a host name must be one subject token ([A-Za-z0-9_-], 1 to %d bytes)", what, h, maxToken)
		case !hosts[h]:
			return fmt.Errorf("%s: host %q is not one of the hosts", what, h)
		case seen[h]:
			return fmt.Errorf("%s: host %q is listed twice", what, h)
		}
		seen[h] = true
	}
	return nil
}

func hostConfLogin(h HostUser) string {
	if h.NKey == "" && h.User == "" {
		return h.Name
	}
	return h.User
}

func operatorConfLogin(op OperatorUser) string {
	if op.NKey != "" {
		return op.NKey
	}
	return op.User
}

// confUser is one entry of the users list.
type confUser struct {
	comment              string
	user, password, nkey string
	publish, subscribe   []string
}

func hostConfUser(o PermissionsOptions, h HostUser) confUser {
	s := Subjects{Prefix: o.Prefix, Host: h.Name}
	pub := []string{s.AllRecords(), s.AllEvents(), s.Presence(), "$JS.API.STREAM.INFO." + o.Stream}
	if o.HostsMayCreateStream {
		pub = append(pub, "$JS.API.STREAM.CREATE."+o.Stream)
	}
	// Replies go to the inboxes of the operators that may call this host
	// only: allow_responses would let a requester name any subject as its
	// reply, past every deny, and have the host publish there (another
	// host's records, say), and an operator out of its scope does not
	// hear from it, not even in discovery.
	for _, op := range o.Operators {
		if len(op.Hosts) == 0 || slices.Contains(op.Hosts, h.Name) {
			pub = append(pub, OperatorInbox(operatorConfLogin(op))+".>")
		}
	}
	sub := []string{s.APIGroup() + ".>", Discover(o.Prefix)}
	// micro serves discovery for all services, for its name, and for its
	// instance: $SRV.PING, $SRV.PING.plugvisor, $SRV.PING.plugvisor.<id>.
	for _, verb := range []string{"PING", "INFO", "STATS"} {
		v := "$SRV." + verb
		sub = append(sub, v, v+"."+natsServiceName, v+"."+natsServiceName+".*")
	}
	sub = append(sub, s.Inbox()+".>")
	u := confUser{
		comment: "host " + confQuote(h.Name), user: hostConfLogin(h), password: h.Password, nkey: h.NKey,
		publish: pub, subscribe: sub,
	}
	return u
}

func operatorConfUser(o PermissionsOptions, op OperatorUser) confUser {
	u := confUser{user: op.User, password: op.Password, nkey: op.NKey}
	api := []string{o.Prefix + ".api.>"}
	follow := []string{o.Prefix + ".evt.>", StreamSubjects(o.Prefix), AllPresence(o.Prefix)}
	// Without a scope, a consumer may filter on anything in the stream,
	// and be made by any form of the create API (the 2.9 ones too).
	create := []string{
		"$JS.API.CONSUMER.CREATE." + o.Stream,
		"$JS.API.CONSUMER.CREATE." + o.Stream + ".>",
		"$JS.API.CONSUMER.DURABLE.CREATE." + o.Stream + ".*",
	}
	u.comment = "operator " + confQuote(operatorConfLogin(op)) + ": all hosts"
	if len(op.Hosts) > 0 {
		u.comment = "operator " + confQuote(operatorConfLogin(op)) + ": hosts " + confQuoteList(op.Hosts)
		api, follow, create = nil, nil, nil
		for _, h := range op.Hosts {
			s := Subjects{Prefix: o.Prefix, Host: h}
			api = append(api, s.APIGroup()+".>")
			follow = append(follow, s.AllEvents(), s.AllRecords(), s.Presence())
			// $JS.API.CONSUMER.CREATE.<stream>.<consumer>.<filter>: the
			// server refuses a body whose name or filter is not the
			// subject's. A wildcard stands for a whole token only, so the
			// name is fixed: one consumer per operator and host.
			name := ScopedConsumer(operatorConfLogin(op), h)
			create = append(create, "$JS.API.CONSUMER.CREATE."+o.Stream+"."+name+"."+s.AllRecords())
			create = append(create, consumerUse(o.Stream, name)...)
		}
	}
	u.publish = append(api, Discover(o.Prefix), "$SRV.>", "$JS.API.INFO", "$JS.API.STREAM.INFO."+o.Stream)
	u.publish = append(u.publish, create...)
	if len(op.Hosts) == 0 {
		u.publish = append(u.publish, consumerUse(o.Stream, "*")...)
		u.publish = append(u.publish,
			"$JS.API.CONSUMER.DELETE."+o.Stream+".*",
			"$JS.API.CONSUMER.NAMES."+o.Stream,
			"$JS.API.CONSUMER.LIST."+o.Stream)
	}
	u.subscribe = append([]string{OperatorInbox(operatorConfLogin(op)) + ".>"}, follow...)
	return u
}

// ScopedConsumer is the name of the one consumer of the stream an operator
// scoped to some hosts may use for one of them: its login and the host,
// joined by '~', which neither holds, so no two operators' names meet.
// The operator creates it filtered on the host's records (or narrower),
// with an inactive threshold so that it goes when unused: a scoped
// operator may not delete consumers.
func ScopedConsumer(login, host string) string { return login + "~" + host }

// consumerUse is what reading through an existing consumer of the stream
// (name, or * for any) takes: look it up, fetch, acknowledge (the acks in
// the first form and in the one a server has with the js_ack_fc_v2
// feature, $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.…). Listing
// would show other readers' consumers (a bridge's durable, say) and
// deleting would stop them: those are for operators of all hosts.
func consumerUse(stream, name string) []string {
	return []string{
		"$JS.API.CONSUMER.INFO." + stream + "." + name,
		"$JS.API.CONSUMER.MSG.NEXT." + stream + "." + name,
		"$JS.ACK." + stream + "." + name + ".>",
		"$JS.ACK.*.*." + stream + "." + name + ".>",
	}
}

func writeConfHeader(b *strings.Builder, o PermissionsOptions) {
	create := ""
	if o.HostsMayCreateStream {
		create = " (and may create it)"
	}
	fmt.Fprintf(b, `# NATS users of a plugvisor fleet: prefix %s, stream %s.
# Written by "plugvisor fleet nats-config", for nats-server 2.9 and later.
#
# Include it in the server's config (include "this-file.conf"): it is the
# server's one authorization block. Its users are in the global account,
# which has JetStream when the config has a jetstream block.
#
# A user may publish and subscribe to what its lists allow, nothing else.
# A host publishes its records, events and presence (<prefix>.hello.<host>:
# no other host may, so a fleet believes it as it cannot a $SRV.PING
# answer), looks up the stream%s, serves its API, the fleet's call
# for presence (<prefix>.discover) and the micro discovery subjects, and
# receives replies only on its own inbox prefix
# (_INBOX_H.<prefix, . as ~>.<host>), so it connects with that custom
# inbox prefix. It answers on the inboxes of the
# operators that may call it only (_INBOX_OP.<operator login>): never
# allow_responses, which would let a requester name any subject as its
# reply and have the host publish there.
# An operator calls the hosts' API and discovery, hears their presence,
# follows their events and records, reads the stream through consumers,
# and receives replies only on its own inbox, so it connects with that custom inbox prefix. An
# operator scoped to some hosts reaches only those, and uses only one
# consumer per host, named <login>~<host> and filtered on that host's
# records (the name and the filter are in the create subject).
# A password that starts with $2a$ (or $2b$, $2x$, $2y$) is a bcrypt hash.

`, confQuote(o.Prefix), confQuote(o.Stream), create)
}

func writeConfUser(b *strings.Builder, u confUser) {
	fmt.Fprintf(b, "    # %s\n    {\n", u.comment)
	if u.nkey != "" {
		fmt.Fprintf(b, "      nkey: %s\n", confQuote(u.nkey))
	} else {
		fmt.Fprintf(b, "      user: %s\n      password: %s\n", confQuote(u.user), confQuote(u.password))
	}
	b.WriteString("      permissions: {\n")
	writeConfAllow(b, "publish", u.publish)
	writeConfAllow(b, "subscribe", u.subscribe)
	b.WriteString("      }\n    }\n")
}

func writeConfAllow(b *strings.Builder, kind string, subjects []string) {
	fmt.Fprintf(b, "        %s: {\n          allow: [\n", kind)
	for _, s := range subjects {
		fmt.Fprintf(b, "            %s\n", confQuote(s))
	}
	b.WriteString("          ]\n        }\n")
}

// confQuote makes s a double-quoted string of the server's config syntax:
// there no $ is a variable and no # a comment, and \ and " are the only
// characters to escape once control characters are refused.
func confQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func confQuoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = confQuote(n)
	}
	return strings.Join(q, ", ")
}

// Exit codes of NATSConfigCommand.
const (
	natsExitOK      = 0
	natsExitFailure = 1 // the config could not be written
	natsExitUsage   = 2
)

const natsConfigUsage = `usage: plugvisor fleet nats-config [flags] --host NAME[:PASSWORD] ... [--operator USER[:PASSWORD][@HOST,...]] ...

Writes the authorization block of a nats-server config (2.9 and later) for
a plugvisor fleet: one user per host and per operator, each allowed only
what it needs. A host or operator given no password gets a random one; the
generated passwords are printed on stderr, once.

  --host NAME[:PASSWORD]       a host; PASSWORD may be a bcrypt hash
  --host-nkey NAME:UKEY        a host that signs in with a user NKey
  --operator USER[:PASSWORD][@HOST,...]
                               an operator, scoped to the hosts after the
                               last @ (no @: all hosts; a PASSWORD holding
                               an @ ends with a bare @ for all hosts); USER
                               is [A-Za-z0-9_-]: its inbox is _INBOX_OP.USER
  --operator-nkey UKEY[@HOST,...]
                               an operator that signs in with a user NKey
  --prefix P                   subject prefix (default plugvisor)
  --stream S                   records stream (default PLUGVISOR_RECORDS)
  --hosts-may-create-stream    hosts may create the stream when it is missing
  --bcrypt=false               write passwords as given, not as bcrypt hashes
  -o FILE                      write to FILE, a new file (0600), not stdout

Other users may see a command line (ps) and the shell keeps it: prefer
generated passwords, or give bcrypt hashes.

Example: three hosts, an operator for all, one for web1 and web2 only:
  plugvisor fleet nats-config --host web1 --host web2 --host db1 \
    --operator admin --operator webteam@web1,web2 -o fleet-users.conf
`

// NATSConfigCommand is "plugvisor fleet nats-config" (args follow the
// command's name): it writes what NATSConfig makes of its flags to
// stdout or to a new file, and returns the exit code: 0, 1 when the file
// cannot be written, 2 for a bad command line; -h prints the usage.
func NATSConfigCommand(args []string, stdout, stderr io.Writer) int {
	return natsConfigCommand(args, stdout, stderr, bcrypt.DefaultCost)
}

// generatedConfLogin is a password made up for a user, to show once.
type generatedConfLogin struct{ what, user, password string }

// natsConfigCommand is NATSConfigCommand with the bcrypt cost to hash at.
func natsConfigCommand(args []string, stdout, stderr io.Writer, cost int) int {
	usage := func(err error) int {
		fmt.Fprintf(stderr, "plugvisor fleet nats-config: %v\n", err)
		return natsExitUsage
	}
	o, out, hash, err := parseNATSConfigFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, natsConfigUsage)
		return natsExitOK
	}
	if err != nil {
		return usage(fmt.Errorf("%w (-h for help)", err))
	}
	generated := generateConfPasswords(&o)
	if err := o.withDefaults().validate(); err != nil {
		return usage(err)
	}
	if hash {
		if err := hashConfPasswords(&o, cost); err != nil {
			return usage(err)
		}
	}
	var b strings.Builder
	if err := NATSConfig(&b, o); err != nil {
		return usage(err)
	}
	if err := writeNATSConfig(out, b.String(), stdout); err != nil {
		fmt.Fprintf(stderr, "plugvisor fleet nats-config: %v\n", err)
		return natsExitFailure
	}
	if len(generated) > 0 {
		fmt.Fprintln(stderr, "# generated passwords, shown only now:")
		for _, g := range generated {
			fmt.Fprintf(stderr, "%s: user %s password %s\n", g.what, confQuote(g.user), confQuote(g.password))
		}
	}
	return natsExitOK
}

// parseNATSConfigFlags parses the command line. A bad login is reported
// by itself, not in the flag package's words, which would echo the
// password it holds.
func parseNATSConfigFlags(args []string) (o PermissionsOptions, out string, hash bool, err error) {
	var bad error
	login := func(parse func(string) error) func(string) error {
		return func(v string) error {
			if err := parse(v); err != nil && bad == nil {
				bad = err
			}
			return nil
		}
	}
	fs := flag.NewFlagSet("nats-config", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Prefix, "prefix", natsConfigPrefix, "")
	fs.StringVar(&o.Stream, "stream", natsConfigStream, "")
	fs.BoolVar(&o.HostsMayCreateStream, "hosts-may-create-stream", false, "")
	fs.BoolVar(&hash, "bcrypt", true, "")
	fs.StringVar(&out, "o", "", "")
	fs.Func("host", "", login(func(v string) error {
		name, password, ok := strings.Cut(v, ":")
		if ok && password == "" {
			return fmt.Errorf("host %q: empty password after ':' (leave the ':' out for a generated one)", name)
		}
		o.Hosts = append(o.Hosts, HostUser{Name: name, Password: password})
		return nil
	}))
	fs.Func("host-nkey", "", login(func(v string) error {
		name, key, ok := strings.Cut(v, ":")
		if !ok || key == "" {
			return fmt.Errorf("host %q: --host-nkey wants NAME:UKEY", name)
		}
		o.Hosts = append(o.Hosts, HostUser{Name: name, NKey: key})
		return nil
	}))
	fs.Func("operator", "", login(func(v string) error {
		login, hosts := splitConfScope(v)
		user, password, ok := strings.Cut(login, ":")
		if ok && password == "" {
			return fmt.Errorf("operator %q: empty password after ':' (leave the ':' out for a generated one)", user)
		}
		o.Operators = append(o.Operators, OperatorUser{User: user, Password: password, Hosts: hosts})
		return nil
	}))
	fs.Func("operator-nkey", "", login(func(v string) error {
		key, hosts := splitConfScope(v)
		o.Operators = append(o.Operators, OperatorUser{NKey: key, Hosts: hosts})
		return nil
	}))
	switch err := fs.Parse(args); {
	case err != nil:
		return o, "", false, err
	case bad != nil:
		return o, "", false, bad
	case fs.NArg() > 0:
		return o, "", false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return o, out, hash, nil
}

// splitConfScope splits LOGIN[@HOST,...] at the last @; an empty list, as
// no @, means all hosts.
func splitConfScope(v string) (string, []string) {
	i := strings.LastIndexByte(v, '@')
	if i < 0 || i == len(v)-1 {
		if i >= 0 {
			v = v[:i]
		}
		return v, nil
	}
	return v[:i], strings.Split(v[i+1:], ",")
}

// generateConfPasswords gives each user with neither password nor NKey a
// random 24-byte one, base64url, and returns them to show.
func generateConfPasswords(o *PermissionsOptions) []generatedConfLogin {
	var out []generatedConfLogin
	for i := range o.Hosts {
		h := &o.Hosts[i]
		if h.Password == "" && h.NKey == "" {
			h.Password = randomConfPassword()
			out = append(out, generatedConfLogin{"host " + confQuote(h.Name), hostConfLogin(*h), h.Password})
		}
	}
	for i := range o.Operators {
		op := &o.Operators[i]
		if op.Password == "" && op.NKey == "" && op.User != "" {
			op.Password = randomConfPassword()
			out = append(out, generatedConfLogin{"operator " + confQuote(op.User), op.User, op.Password})
		}
	}
	return out
}

func randomConfPassword() string {
	b := make([]byte, 24)
	rand.Read(b) // never fails: crypto/rand panics rather than return short
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashConfPasswords replaces each plain password with its bcrypt hash, so
// the server's config does not hold them.
func hashConfPasswords(o *PermissionsOptions, cost int) error {
	hash := func(what string, p *string) error {
		if *p == "" || confBcryptHash().MatchString(*p) {
			return nil
		}
		h, err := bcrypt.GenerateFromPassword([]byte(*p), cost)
		if err != nil {
			return fmt.Errorf("%s: password: %w (--bcrypt=false writes it as it is)", what, err)
		}
		*p = string(h)
		return nil
	}
	for i := range o.Hosts {
		if err := hash(fmt.Sprintf("host %q", o.Hosts[i].Name), &o.Hosts[i].Password); err != nil {
			return err
		}
	}
	for i := range o.Operators {
		if err := hash(fmt.Sprintf("operator %q", o.Operators[i].User), &o.Operators[i].Password); err != nil {
			return err
		}
	}
	return nil
}

func writeNATSConfig(path, config string, stdout io.Writer) error {
	if path == "" {
		_, err := io.WriteString(stdout, config)
		return err
	}
	f, err := private.Create(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	if _, err := f.WriteString(config); err != nil {
		f.Close()
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}
