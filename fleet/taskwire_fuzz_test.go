package fleet

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/jsontext"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// FuzzTaskWireReaders: whatever bytes come from the network, the hand
// readers make of them what encoding/json makes: the same values, the same
// error text. Seeded with the table's bodies and the encoders' output.
func FuzzTaskWireReaders(f *testing.F) {
	for _, b := range wireBodies {
		f.Add([]byte(b))
	}
	var fields jsontext.Fields
	for _, r := range wireReplies() {
		f.Add(appendReply(nil, &r, &fields))
	}
	for i, s := range wireTexts {
		f.Add(appendSendRequest(nil, &SendRequest{Plugin: s, ID: uint32(i), Content: s, Token: s, Timeout: s}))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkWireBody(t, body)
	})
}

// FuzzTaskWireEncoders: the hand encoders write json.Marshal's bytes for
// any strings and numbers, and the fast readers take them back whole.
func FuzzTaskWireEncoders(f *testing.F) {
	for i, s := range wireTexts {
		f.Add(s, s+"k", uint32(i), int64(-i), int64(i)<<40, i%3)
	}
	f.Add("", "", uint32(0), int64(0), int64(0), 0)
	f.Fuzz(func(t *testing.T, s, k string, id uint32, n, rtt int64, nrec int) {
		recs := make([]protocol.Record, nrec&3)
		for i := range recs {
			recs[i] = protocol.Record{Timestamp: n, Token: s, Fields: map[string]string{k: s, s: k, "data_type": k}}
		}
		r := supervisor.Reply{Plugin: s, Instance: k, ID: id, Token: k, Outcome: supervisor.Outcome(s), Records: recs,
			Dropped: int(n), DroppedBytes: rtt, Status: k, Error: s, RTT: time.Duration(rtt)}
		var fields jsontext.Fields
		for range 2 { // the second time with the names known to fields
			got := appendReply(nil, &r, &fields)
			want, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("reply:\n got %s\nwant %s", got, want)
			}
			var fast, slow supervisor.Reply
			if !readReply(got, &fast) {
				t.Fatalf("the fast reader refused %s", got)
			}
			if err := json.Unmarshal(got, &slow); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("read %+v, encoding/json %+v", fast, slow)
			}
		}
		q := SendRequest{Plugin: s, ID: id, Content: k, Token: s, Timeout: k}
		got := appendSendRequest(nil, &q)
		want, err := json.Marshal(&q)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("request:\n got %s\nwant %s", got, want)
		}
		var fast, slow SendRequest
		if !readSendRequest(got, &fast) {
			t.Fatalf("the fast reader refused %s", got)
		}
		if err := json.Unmarshal(got, &slow); err != nil {
			t.Fatal(err)
		}
		if fast != slow {
			t.Fatalf("read %+v, encoding/json %+v", fast, slow)
		}
	})
}
