package headless

import (
	"bytes"
	"encoding/json"
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
	got := string(e.append(nil, at, plugin, instance, &r))
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
