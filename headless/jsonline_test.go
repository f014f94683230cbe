package headless

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// line is a record's JSON line as README documents it, encoded by
// encoding/json: the reference lineEncoder must match byte for byte.
type line struct {
	Time      time.Time         `json:"time"`
	Plugin    string            `json:"plugin"`
	Instance  string            `json:"instance"`
	Timestamp int64             `json:"timestamp"`
	Token     string            `json:"token,omitempty"`
	Fields    map[string]string `json:"fields"`
}

func reference(t testing.TB, at time.Time, plugin, instance string, r protocol.Record) string {
	var b bytes.Buffer
	err := json.NewEncoder(&b).Encode(line{Time: at, Plugin: plugin, Instance: instance, Timestamp: r.Timestamp, Token: r.Token, Fields: r.Fields})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func checkLine(t testing.TB, at time.Time, plugin, instance string, r protocol.Record) {
	t.Helper()
	var e lineEncoder
	e.event(at, plugin, instance)
	got := string(e.append(nil, &r))
	if want := reference(t, at, plugin, instance, r); got != want {
		t.Fatalf("line differs from encoding/json's\n got %q\nwant %q", got, want)
	}
}

var tricky = []string{
	"", "plain", "<script>&amp;</script>", "\x00\x01\x1f\x7f", "\b\f\n\r\t", `"quoted" \back\`,
	"\u2028 and \u2029", "héllo 日本 🎉", "\xff\xfe bad", "cut \xc3", "\xed\xa0\x80 surrogate",
}

func TestLineEncoderMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 1, 20, 45, 2, 741000000, time.FixedZone("x", 3600))
	for _, s := range tricky {
		checkLine(t, at, "p"+s, "i"+s, protocol.Record{Timestamp: -42, Token: s, Fields: map[string]string{"data_type": s, s: "v", "a": s, "z<": "&"}})
	}
	checkLine(t, time.Now(), "chaos", "chaos", protocol.Record{Timestamp: time.Now().UnixNano()})
	checkLine(t, time.Now().UTC(), "chaos", "chaos", protocol.Record{Fields: map[string]string{}})
}

func FuzzLineEncoder(f *testing.F) {
	for _, s := range tricky {
		f.Add(s, s, int64(len(s)))
	}
	f.Fuzz(func(t *testing.T, k, v string, ts int64) {
		checkLine(t, time.Unix(0, ts).UTC(), v, k, protocol.Record{Timestamp: ts, Token: v, Fields: map[string]string{k: v, v: k, "data_type": "x"}})
	})
}

// TestEventLinesMatchEncodingJSON: many generated events, each of several
// records encoded with the event's shared prefix by one reused encoder into
// one buffer, are the concatenation of what encoding/json makes of each.
func TestEventLinesMatchEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var e lineEncoder
	var got []byte
	var want strings.Builder
	for range 2000 {
		at := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(time.FixedZone("z", 60*(rng.IntN(1440)-720)))
		plugin, instance := genString(rng), genString(rng)
		e.event(at, plugin, instance)
		for range rng.IntN(5) {
			r := genRecord(rng)
			got = e.append(got, &r)
			want.WriteString(reference(t, at, plugin, instance, r))
		}
	}
	if string(got) != want.String() {
		g, w := strings.Split(string(got), "\n"), strings.Split(want.String(), "\n")
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				t.Fatalf("line %d differs from encoding/json's\n got %q\nwant %q", i, g[i], w[i])
			}
		}
		t.Fatalf("%d lines, encoding/json made %d", len(g), len(w))
	}
}

// TestFloodLinesMatchEncodingJSON: records as a flood makes them, where
// the encoder's shortcuts apply: a few sets of field names recurring (the
// same names, as many names but one differing, tricky names), timestamps
// a few nanoseconds to a few milliseconds apart crossing every boundary of
// the digits the encoder keeps, and now and then one far away, negative or
// short. One encoder and one buffer for them all, as headless uses them.
func TestFloodLinesMatchEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sets := [][]string{
		{"data_type", "seq"}, {"data_type", "seq", "host"}, {"data_type", "pid"}, {"data_type", "seq", "<&>"},
		{"data_type", "\u2028 \u2029", "é"}, {"data_type", "\xff", "\x00"}, {"data_type"}, {},
	}
	var e lineEncoder
	var got []byte
	var want strings.Builder
	at := time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC)
	ts := int64(999_000_000_000_000_000) - 5_000_000
	for i := range 20000 {
		if i%50 == 0 {
			e.event(at.Add(time.Duration(i)), "chaos", "chaos")
		}
		switch rng.IntN(40) {
		case 0:
			ts = rng.Int64() - rng.Int64()
		case 1:
			ts = rng.Int64N(2_000_000) - 1_000_000
		case 2:
			ts = 1_000_000 * (rng.Int64N(1e12) + 1)
		default:
			ts += rng.Int64N(2_000_000)
		}
		r := protocol.Record{Timestamp: ts}
		if names := sets[rng.IntN(len(sets))]; len(names) > 0 || rng.IntN(2) == 0 {
			r.Fields = map[string]string{}
			for _, n := range names {
				r.Fields[n] = genString(rng)
			}
		}
		got = e.append(got, &r)
		want.WriteString(reference(t, at.Add(time.Duration(i/50*50)), "chaos", "chaos", r))
	}
	if g, w := strings.Split(string(got), "\n"), strings.Split(want.String(), "\n"); len(g) != len(w) {
		t.Fatalf("%d lines, encoding/json made %d", len(g), len(w))
	} else {
		for i := range g {
			if g[i] != w[i] {
				t.Fatalf("line %d differs from encoding/json's\n got %q\nwant %q", i, g[i], w[i])
			}
		}
	}
}

func genRecord(rng *rand.Rand) protocol.Record {
	r := protocol.Record{Timestamp: rng.Int64() - rng.Int64()}
	if rng.IntN(3) == 0 {
		r.Token = genString(rng)
	}
	switch rng.IntN(10) {
	case 0: // no map at all: encoding/json writes null
	case 1:
		r.Fields = map[string]string{}
	default:
		r.Fields = map[string]string{"data_type": genString(rng)}
		for range rng.IntN(8) {
			r.Fields[genString(rng)] = genString(rng)
		}
	}
	return r
}

// genString draws from pieces that exercise every escaping rule: plain
// text, HTML characters, control bytes, quotes and backslashes, U+2028/9,
// multi-byte runes, and invalid or cut UTF-8.
func genString(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.IntN(6) {
		if rng.IntN(4) == 0 {
			b.WriteByte(byte(rng.IntN(256)))
			continue
		}
		b.WriteString(tricky[rng.IntN(len(tricky))])
	}
	return b.String()
}
