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
		{s.Inbox(), "_INBOX_acme_pv_edge-1"},
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
