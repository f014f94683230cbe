package supervisor

import (
	"context"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/plugvisor/plugvisor/internal/clip"
)

// logTee is a slog.Handler that passes every record on to the handler it
// wraps and also publishes it as an EventSupervisorLog, so the supervisor's
// own log is in History and live on the bus. Records at Info and above are
// published whatever the wrapped handler's level: an operator watching the
// console wants the state changes and warnings even when the log file is
// set to warn.
type logTee struct {
	inner   slog.Handler
	publish func(Event)
	attrs   string // flattened attributes of With, in order
	group   string // prefix of WithGroup, "a.b." or empty
	plugin  string // the "plugin" attribute of With, for History's filter
	inst    string // the "instance" attribute of With
}

func newLogTee(inner slog.Handler, publish func(Event)) *logTee {
	return &logTee{inner: inner, publish: publish}
}

// teeLevel is the least level published.
const teeLevel = slog.LevelInfo

// maxTeeName bounds the plugin and instance a line names, as kept.
const maxTeeName = 128

// Enabled is true for what the tee keeps; for the rest (levels below
// teeLevel, records marked NotInHistory) it is the wrapped handler's word,
// so a record nobody writes costs its caller nothing.
func (t *logTee) Enabled(ctx context.Context, l slog.Level) bool {
	if l >= teeLevel && keptInHistory(ctx) {
		return true
	}
	return t.inner.Enabled(ctx, l)
}

func (t *logTee) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if t.inner.Enabled(ctx, r.Level) {
		err = t.inner.Handle(ctx, r)
	}
	if r.Level < teeLevel || !keptInHistory(ctx) {
		return err
	}
	e := Event{Type: EventSupervisorLog, Time: r.Time, Plugin: t.plugin, Instance: t.inst}
	var b strings.Builder
	b.WriteString(t.attrs)
	r.Attrs(func(a slog.Attr) bool {
		t.flatten(&b, t.group, a, &e)
		return b.Len() <= MaxSupervisorLogText
	})
	e.SupervisorLog = &SupervisorLog{Level: r.Level.String(), Message: bound(r.Message), Attrs: bound(b.String())}
	t.publish(e)
	return err
}

func (t *logTee) WithAttrs(as []slog.Attr) slog.Handler {
	c := *t
	c.inner = t.inner.WithAttrs(as)
	var b strings.Builder
	b.WriteString(t.attrs)
	e := Event{Plugin: t.plugin, Instance: t.inst}
	for _, a := range as {
		t.flatten(&b, t.group, a, &e)
	}
	c.attrs, c.plugin, c.inst = bound(b.String()), e.Plugin, e.Instance
	return &c
}

func (t *logTee) WithGroup(name string) slog.Handler {
	if name == "" {
		return t
	}
	c := *t
	c.inner, c.group = t.inner.WithGroup(name), t.group+name+"."
	return &c
}

// flatten writes a as key=value (groups as prefix.key=value), and notes the
// plugin and instance it names, bounded. Past MaxSupervisorLogText it
// writes nothing, and a value is cut to the room left before it is quoted:
// bound keeps no more, so neither is more copied.
func (t *logTee) flatten(b *strings.Builder, prefix string, a slog.Attr, e *Event) {
	room := MaxSupervisorLogText + 1 - b.Len()
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, g := range v.Group() {
			t.flatten(b, prefix, g, e)
		}
		return
	}
	if a.Key == "" {
		return
	}
	var s string
	if v.Kind() == slog.KindString {
		s = v.String() // no copy, so the names below are whole before their bound
	} else if room > 0 {
		s = v.String()
	}
	if prefix == "" {
		switch a.Key {
		case "plugin":
			e.Plugin = clip.Text(s, maxTeeName)
		case "instance":
			e.Instance = clip.Text(s, maxTeeName)
		}
	}
	if room <= 0 {
		return
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(prefix)
	b.WriteString(a.Key)
	b.WriteByte('=')
	s = clip.Head(s, room)
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		s = quote(s)
	}
	b.WriteString(s)
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// bound cuts s to MaxSupervisorLogText bytes on a rune boundary, marking the cut.
func bound(s string) string {
	if len(s) <= MaxSupervisorLogText {
		return s
	}
	cut := MaxSupervisorLogText - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
