package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/jsontext"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// wireTexts are strings that take every branch of JSON quoting.
var wireTexts = []string{"", "echo", `a "quoted" \ path`, "<b>&amp;</b>", "line\nfeed\ttab\x01", "héllo ✓ 😀",
	"bad \xff utf-8", "\u2028\u2029", "\x7f"}

func wireReplies() []supervisor.Reply {
	var out []supervisor.Reply
	for _, s := range wireTexts {
		out = append(out, supervisor.Reply{Plugin: s, Instance: s + "#1", ID: math.MaxUint32, Token: s, Outcome: supervisor.OutcomeAnswered,
			Records: []protocol.Record{{Timestamp: -1, Token: s, Fields: map[string]string{"data_type": s, s: "v", "z": s}}},
			Status:  s, Error: s, RTT: -time.Second})
	}
	return append(out,
		supervisor.Reply{},
		supervisor.Reply{Plugin: "echo", Outcome: supervisor.OutcomeTimedOut, Dropped: 3, DroppedBytes: math.MaxInt64, RTT: math.MinInt64},
		supervisor.Reply{Plugin: "echo", Records: []protocol.Record{{}, {Timestamp: 1, Fields: map[string]string{}}, {Fields: map[string]string{"a": "1", "b": "2"}}}},
	)
}

// TestTaskWireEncodersMatchEncodingJSON: the hand encoders write exactly
// json.Marshal's bytes, and the fast readers take them back whole.
func TestTaskWireEncodersMatchEncodingJSON(t *testing.T) {
	var fields jsontext.Fields
	for i, r := range wireReplies() {
		got := appendReply(nil, &r, &fields)
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("reply %d:\n got %s\nwant %s", i, got, want)
		}
		var fast, slow supervisor.Reply
		if !readReply(got, &fast) {
			t.Errorf("reply %d: the fast reader refused %s", i, got)
		}
		if err := json.Unmarshal(got, &slow); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("reply %d: read %+v, encoding/json %+v", i, fast, slow)
		}
	}
	for i, s := range wireTexts {
		for _, r := range []SendRequest{{Plugin: s, ID: uint32(i), Content: s, Token: s, Timeout: s}, {Plugin: s, Content: s}} {
			got := appendSendRequest(nil, &r)
			want, err := json.Marshal(&r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("request %d:\n got %s\nwant %s", i, got, want)
			}
			var fast, slow SendRequest
			if !readSendRequest(got, &fast) {
				t.Errorf("request %d: the fast reader refused %s", i, got)
			}
			if err := json.Unmarshal(got, &slow); err != nil {
				t.Fatal(err)
			}
			if fast != slow {
				t.Errorf("request %d: read %+v, encoding/json %+v", i, fast, slow)
			}
		}
	}
}

// wireBodies are bodies in and out of the shape the encoders write: the
// readers must make of each what encoding/json makes of it.
var wireBodies = []string{
	``, ` `, `{}`, `null`, `[]`, `{`, `{"plugin":"echo"`, `{"plugin":"echo"}x`, `{"plugin":"echo"} `,
	` {"plugin":"echo"}`, `{"plugin" : "echo"}`, `{"Plugin":"echo"}`, `{"unknown":1,"plugin":"echo"}`,
	`{"plugin":"ec\"ho"}`, `{"plugin":"\u0065cho"}`, `{"plugin":"a\nb"}`, "{\"plugin\":\"a\x01b\"}", "{\"plugin\":\"\xff\"}",
	`{"plugin":null}`, `{"plugin":1}`, `{"plugin":"a","plugin":"b"}`,
	`{"id":-1}`, `{"id":4294967296}`, `{"id":01}`, `{"id":1.0}`, `{"id":1e3}`, `{"id":-0}`, `{"id":"1"}`, `{"id":}`,
	`{"rtt":9223372036854775807}`, `{"rtt":9223372036854775808}`, `{"rtt":-9223372036854775808}`, `{"rtt":12345678901234567890123}`,
	`{"records":null}`, `{"records":[]}`, `{"records":[{}]}`, `{"records":[{"fields":null}]}`, `{"records":[{"fields":{}}]}`,
	`{"records":[{"fields":{"a":"}"}}]}`, `{"records":[{"fields":{"a":"\"}"}}]}`, `{"records":[{"fields":{"a":1}}]}`,
	`{"records":[{"fields":{"a":{"b":"c"}}}]}`, `{"records":[{"fields":{"a":"b"`, `{"records":[{"timestamp":1,"token":"t","fields":{"x":"y"}},{"timestamp":2}]}`,
	`{"records":[{"timestamp":1},]}`, `{"records":[1]}`, `{"records":{}}`,
	`{"dropped":-3,"dropped_bytes":7,"status":"ok","error":"e","outcome":"answered","token":"t","instance":"i"}`,
	`{"content":"c","token":"t","timeout":"5s"}`, `{"timeout":5}`, `{"content":"{\"a\":\"\\u00e9\\n\"}"}`, `{"content":"\ud800"}`,
	`{"content":"\x"}`, `{"content":"a\"`, `{"p\u006cugin":"echo"}`,
	// A record's fields twice: encoding/json decodes the second into the
	// map the first made, so both sets are kept; null still clears it.
	`{"records":[{"fields":{"a":"1"},"fields":{"b":"2"}}]}`, `{"records":[{"fields":{"a":"1"},"fields":{}}]}`,
	`{"records":[{"fields":{"a":"1"},"fields":null}]}`, `{"records":[{"fields":null,"fields":{"a":"1"}}]}`,
}

// TestTaskWireReadersAgreeWithEncodingJSON: whatever a body holds, the
// readers give encoding/json's result and error, the fast path taking the
// bodies it knows and leaving the rest.
func TestTaskWireReadersAgreeWithEncodingJSON(t *testing.T) {
	for _, body := range wireBodies {
		t.Run(fmt.Sprintf("%q", body), func(t *testing.T) { checkWireBody(t, []byte(body)) })
	}
}

// wireStarts are Replies the client decodes into: one filled in already,
// one with records too, into which encoding/json decodes.
func wireStarts() []supervisor.Reply {
	return []supervisor.Reply{
		{Plugin: "p", ID: 7, Token: "tok", Outcome: supervisor.OutcomeNotSent},
		{Plugin: "p", Records: []protocol.Record{{Timestamp: 9, Fields: map[string]string{"k": "v"}}}},
	}
}

// checkWireBody fails t unless the readers make of body what encoding/json
// makes of it: the same values and the same error text.
func checkWireBody(t *testing.T, body []byte) {
	t.Helper()
	for _, start := range wireStarts() {
		got, want := cloneReply(start), cloneReply(start)
		gotErr, wantErr := decodeReply(body, &got), json.Unmarshal(body, &want)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
			t.Errorf("reply from %q: got %+v, %v; encoding/json %+v, %v", body, got, gotErr, want, wantErr)
		}
	}
	var req, wantReq SendRequest
	gotErr, wantErr := decodeSendRequest(body, &req), decode(OpSend, body, &wantReq)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || req != wantReq {
		t.Errorf("request from %q: got %+v, %v; decode %+v, %v", body, req, gotErr, wantReq, wantErr)
	}
}

// cloneReply is r with records and their fields of its own, so that what
// encoding/json decodes into one copy is not seen in another.
func cloneReply(r supervisor.Reply) supervisor.Reply {
	if r.Records != nil {
		r.Records = slices.Clone(r.Records)
		for i := range r.Records {
			r.Records[i].Fields = maps.Clone(r.Records[i].Fields)
		}
	}
	return r
}

// TestFitReplyCutsRecords: a reply too large for a response keeps its
// final record, then none, and counts the rest as dropped.
func TestFitReplyCutsRecords(t *testing.T) {
	recs := make([]protocol.Record, 10)
	for i := range recs {
		recs[i] = protocol.Record{Timestamp: int64(i), Fields: map[string]string{"data_type": "x", "pad": string(bytes.Repeat([]byte("p"), 100))}}
	}
	r := supervisor.Reply{Plugin: "echo", Token: "t", Outcome: supervisor.OutcomeAnswered, Records: recs}
	var fields jsontext.Fields
	for _, tc := range []struct{ room, kept, dropped int }{{1 << 20, 10, 0}, {600, 1, 9}, {100, 0, 10}} {
		var got supervisor.Reply
		if err := json.Unmarshal(fitReply(r, tc.room, &fields), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Records) != tc.kept || got.Dropped != tc.dropped || got.Token != "t" || got.Outcome != supervisor.OutcomeAnswered {
			t.Errorf("room %d: %d records, %d dropped, token %q, outcome %s; want %d kept, %d dropped", tc.room, len(got.Records), got.Dropped, got.Token, got.Outcome, tc.kept, tc.dropped)
		}
		if tc.kept == 1 && got.Records[0].Timestamp != 9 {
			t.Errorf("room %d: kept record %d, want the final one", tc.room, got.Records[0].Timestamp)
		}
	}
}

// TestFitReplyCutsTexts: a reply whose texts alone outweigh the room (a
// plugin's error of megabytes, a name the caller made up, every byte of
// them escaped) still fits, with its outcome, id and token, the texts cut
// with a mark saying so.
func TestFitReplyCutsTexts(t *testing.T) {
	big := strings.Repeat("<", 2<<20)
	r := supervisor.Reply{Plugin: strings.Repeat("\xff", 200<<10), Instance: big, ID: 9, Token: "t", Outcome: supervisor.OutcomeAnswered,
		Status: protocol.StatusError, Error: big, Records: []protocol.Record{{Fields: map[string]string{"error": big}}}, RTT: time.Second}
	var fields jsontext.Fields
	for _, room := range []int{4 << 10, 64 << 10, 1<<20 - 8<<10} {
		out := fitReply(r, room, &fields)
		if len(out) > room {
			t.Fatalf("room %d: a reply of %d bytes", room, len(out))
		}
		var got supervisor.Reply
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if got.ID != 9 || got.Token != "t" || got.Outcome != supervisor.OutcomeAnswered || got.Status != protocol.StatusError || got.Dropped != 1 || got.RTT != time.Second {
			t.Errorf("room %d: %+v", room, got)
		}
		if !strings.HasPrefix(got.Error, "<<<") || !strings.Contains(got.Error, " bytes)") || !strings.Contains(got.Plugin, " bytes)") {
			t.Errorf("room %d: error %.40q…, plugin %.40q…: not cut with a mark", room, got.Error, got.Plugin)
		}
	}
}

// BenchmarkTaskWire: a task's round trip through the hand codec (request
// out and in, the echo's reply out and in), and through encoding/json.
func BenchmarkTaskWire(b *testing.B) {
	reply := supervisor.Reply{Plugin: "echo", Instance: "echo", ID: 1, Token: "0123456789abcdef", Outcome: supervisor.OutcomeAnswered, Status: "ok", RTT: 20 * time.Microsecond,
		Records: []protocol.Record{{Timestamp: time.Now().UnixNano(), Token: "0123456789abcdef", Fields: map[string]string{"data_type": "echo", "content": "ping"}}}}
	req := SendRequest{Plugin: "echo", ID: 1, Content: "ping", Timeout: "29.999s"}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		var fields jsontext.Fields
		for range b.N {
			var r SendRequest
			var out supervisor.Reply
			if decodeSendRequest(appendSendRequest(nil, &req), &r) != nil || decodeReply(fitReply(reply, 1<<20, &fields), &out) != nil {
				b.Fatal("round trip failed")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var r SendRequest
			var out supervisor.Reply
			body, _ := json.Marshal(&req)
			result, _ := json.Marshal(reply)
			if decode(OpSend, body, &r) != nil || json.Unmarshal(result, &out) != nil {
				b.Fatal("round trip failed")
			}
		}
	})
}
