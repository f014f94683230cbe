package fleet

import "strings"

// Subjects names what one host publishes and serves under a prefix:
//
//	<prefix>.rec.<host>.<plugin>.<data_type>   records (into JetStream)
//	<prefix>.evt.<host>.<plugin>               events (core NATS)
//	<prefix>.evt.<host>.$supervisor            the supervisor's own events
//	<prefix>.api.<host>.<op>                   the operator API (micro)
//	<prefix>.hello.<host>                      its presence (Presence)
//	<prefix>.discover                          the fleet's call for presence
//	_INBOX_H.<prefix with . as ~>.<host>.>     the host's reply inboxes
//
// The host token comes first after the kind so one permission,
// `<prefix>.rec.<host>.>`, covers all a host may publish of a kind.
// Operators take their replies on OperatorInbox.
type Subjects struct {
	Prefix string
	Host   string
}

// SupervisorToken stands for the plugin in the subject of an event about
// no plugin (the supervisor's own log). A plugin name is [A-Za-z0-9_-], so
// no plugin can be called this.
const SupervisorToken = "$supervisor"

// Records is the subject of one plugin's records of one data type.
func (s Subjects) Records(plugin, dataType string) string {
	return s.Prefix + ".rec." + s.Host + "." + Token(plugin) + "." + Token(dataType)
}

// AllRecords matches every record of this host.
func (s Subjects) AllRecords() string { return s.Prefix + ".rec." + s.Host + ".>" }

// Event is the subject of events about plugin ("" for the supervisor's).
func (s Subjects) Event(plugin string) string {
	if plugin == "" {
		return s.Prefix + ".evt." + s.Host + "." + SupervisorToken
	}
	return s.Prefix + ".evt." + s.Host + "." + Token(plugin)
}

// probe is where `plugvisor check` publishes an empty message to learn
// whether the host may publish events; subscribers ignore it.
func (s Subjects) probe() string { return s.Prefix + ".evt." + s.Host + "." + probeToken }

// probeToken is the probe's last token; like SupervisorToken, no plugin
// can be called this.
const probeToken = "$probe"

// AllEvents matches every event of this host.
func (s Subjects) AllEvents() string { return s.Prefix + ".evt." + s.Host + ".>" }

// APIGroup is the micro group this host's operator API lives in.
func (s Subjects) APIGroup() string { return s.Prefix + ".api." + s.Host }

// API is the subject of one operation of this host's API.
func (s Subjects) API(op string) string { return s.APIGroup() + "." + op }

// Presence is where this host says it is when a fleet asks on Discover:
// its name and prefix (PresenceMessage). Only this host may publish
// there (see NATSConfig), so, unlike a `$SRV.PING` answer, which any
// host may send in any name, a presence names its sender.
func (s Subjects) Presence() string { return s.Prefix + ".hello." + s.Host }

// Discover is where a fleet asks every host of prefix for its presence;
// every host subscribes, only operators publish.
func Discover(prefix string) string { return prefix + ".discover" }

// AllPresence matches every host's presence under prefix.
func AllPresence(prefix string) string { return prefix + ".hello.*" }

// Inbox is the prefix of this host's reply subjects: a host's permissions
// let it subscribe only there (Inbox()+".>"), so it cannot read replies
// meant for others. It is three tokens: _INBOX_H, the prefix with its dots
// as '~', the host. No prefix or host token holds a '~' or a dot, so the
// inbox says which prefix and host it is (the prefixes "a.b" and "a_b" give
// _INBOX_H.a~b.h and _INBOX_H.a_b.h), and as every host's has three tokens
// none is under another's: no two fleets' hosts in one account share one.
// Its first token is not _INBOX, so no _INBOX.> permission reaches it.
func (s Subjects) Inbox() string {
	return hostInboxRoot + "." + strings.ReplaceAll(s.Prefix, ".", "~") + "." + s.Host
}

// hostInboxRoot and operatorInboxRoot are the first tokens of the hosts'
// and the operators' inboxes.
const (
	hostInboxRoot     = "_INBOX_H"
	operatorInboxRoot = "_INBOX_OP"
)

// OperatorInbox is the prefix of the reply subjects of the operator who
// logs in as login (a user name, or an NKey's public key, one subject
// token): _INBOX_OP.<login>. Logins are unique on a server, so no two
// operators share one; the generated permissions let each operator
// subscribe only to its own, and hosts answer only there.
func OperatorInbox(login string) string { return operatorInboxRoot + "." + login }

// StreamSubjects is what the records stream captures for every host.
func StreamSubjects(prefix string) string { return prefix + ".rec.>" }

// maxToken bounds a subject token made from a plugin's text.
const maxToken = 64

// Token makes s one subject token: bytes outside [A-Za-z0-9_-] (the dot
// that separates tokens, the wildcards, spaces, anything a plugin may put
// in a data_type) become '_', it is cut to 64 bytes, and an empty one is
// "_". Plugin names are tokens already; data types need not be, and the
// record's body still carries the data_type as the plugin wrote it.
func Token(s string) string {
	if s == "" {
		return "_"
	}
	if len(s) > maxToken {
		s = s[:maxToken]
	}
	if isToken(s) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if !tokenByte(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

// validToken holds for one subject token as Token leaves it: a host's
// name, a stream's, a prefix's part, a login that names an inbox.
func validToken(s string) bool { return s != "" && Token(s) == s }

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tokenByte(s[i]) {
			return false
		}
	}
	return true
}

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}
