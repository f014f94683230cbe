package fleet

import (
	"strings"
	"testing"
)

func TestSubjects(t *testing.T) {
	s := Subjects{Prefix: "acme.pv", Host: "edge-1"}
	for _, c := range []struct{ got, want string }{
		{s.Records("ticker", "tick"), "acme.pv.rec.edge-1.ticker.tick"},
		{s.Records("ticker", "a.b *>c"), "acme.pv.rec.edge-1.ticker.a_b___c"},
		{s.Records("ticker", ""), "acme.pv.rec.edge-1.ticker._"},
		{s.AllRecords(), "acme.pv.rec.edge-1.>"},
		{s.Event("echo"), "acme.pv.evt.edge-1.echo"},
		{s.Event(""), "acme.pv.evt.edge-1.$supervisor"},
		{s.Event("_supervisor"), "acme.pv.evt.edge-1._supervisor"},
		{s.AllEvents(), "acme.pv.evt.edge-1.>"},
		{s.API("send"), "acme.pv.api.edge-1.send"},
		{s.Inbox(), "_INBOX_H.acme~pv.edge-1"},
		{OperatorInbox("ops"), "_INBOX_OP.ops"},
		{StreamSubjects("acme.pv"), "acme.pv.rec.>"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestTokenIsOneBoundedToken(t *testing.T) {
	for _, in := range []string{"", ".", "a.b", "*", ">", "sp ace", "tab\t", "ünï", strings.Repeat("x", 200)} {
		tok := Token(in)
		if tok == "" || len(tok) > maxToken || !isToken(tok) {
			t.Errorf("Token(%q) = %q: not one token of at most %d bytes", in, tok, maxToken)
		}
	}
	if Token("ok-name_1") != "ok-name_1" {
		t.Error("a token is changed")
	}
}

func TestRedactedHidesPasswords(t *testing.T) {
	got := Redacted([]string{"nats://ops:s3cret@a:4222", "tls://b:4222", "nats://u:p@ss@c:4222"})
	if strings.Contains(got, "s3cret") || strings.Contains(got, "p@ss") || !strings.Contains(got, "tls://b:4222") {
		t.Fatalf("Redacted = %q", got)
	}
}

// Hosts of two fleets in one account never share an inbox: "a.b" and "a_b"
// (which a '_' for '.' made one) stay apart, and no host's inbox is under
// another's (as "a.b" and host "c" would be over "a.b.c" and host "h" if
// the dots stayed), an operator's or _INBOX.
func TestInboxesAreDistinct(t *testing.T) {
	var inboxes []string
	for _, prefix := range []string{"a.b", "a_b", "a", "a.b.c", "a.b_c", "a_b.c"} {
		for _, host := range []string{"c", "b_c", "b.c", "h"} {
			if !isToken(host) {
				continue
			}
			inboxes = append(inboxes, Subjects{Prefix: prefix, Host: host}.Inbox())
		}
	}
	inboxes = append(inboxes, OperatorInbox("ops"), OperatorInbox("a"), "_INBOX")
	for i, a := range inboxes {
		for j, b := range inboxes {
			if i != j && (a == b || strings.HasPrefix(a, b+".")) {
				t.Errorf("inbox %q is %q's or under it", a, b)
			}
		}
	}
}
