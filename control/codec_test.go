package control

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// The hand-written codec must agree with the generic library driven by the
// json tags: the library stands in for any other implementation of the
// control protocol. These types have no methods, so the library encodes and
// decodes them by reflection.
type (
	plainRequest    Request
	plainEventFrame struct {
		Kind  Kind              `json:"kind"`
		ID    uint64            `json:"id"`
		Event *supervisor.Event `json:"event"`
	}
	plainResponse struct {
		Kind   Kind              `json:"kind"`
		ID     uint64            `json:"id"`
		Error  *Error            `json:"error,omitempty"`
		Result *supervisor.Reply `json:"result,omitempty"`
	}
)

var testTime = time.Date(2025, 11, 21, 20, 0, 0, 123, time.UTC)

func testReply() *supervisor.Reply {
	return &supervisor.Reply{Plugin: "echo", Instance: "echo.0", ID: 7, Token: "9f3a-12", Outcome: supervisor.OutcomeAnswered, Status: protocol.StatusOK, RTT: 85 * time.Microsecond, Dropped: 3,
		Records: []protocol.Record{
			{Timestamp: testTime.UnixNano(), Token: "9f3a-12", Fields: map[string]string{"data_type": "progress", "pct": "50"}},
			{Timestamp: testTime.UnixNano() + 1, Token: "9f3a-12", Fields: map[string]string{"data_type": "echo", "content": "héllo\x00", "task_status": "ok"}},
		}}
}

func generic(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := newEncoder() // json tags, compact integers
	enc.ResetWriter(&buf)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func genericDecode(t *testing.T, payload []byte, v any) {
	t.Helper()
	if err := decodeFrame(newDecoder(), payload, v); err != nil {
		t.Fatalf("the generic library cannot read our encoding: %v", err)
	}
}

func encodeHand(t *testing.T, v any) []byte {
	t.Helper()
	f, err := Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return f[protocol.HeaderSize:]
}

func TestRequestCodecAgrees(t *testing.T) {
	for _, q := range []Request{
		{Kind: KindRequest, ID: 1, Op: OpHello, Versions: []uint16{1, 2}, Client: "ctl[1]"},
		{Kind: KindRequest, ID: 1<<64 - 1, Op: OpSendTask, Name: "echo", TaskID: 1<<32 - 1, Content: "x\x00y", Timeout: -5},
		{Kind: KindRequest, ID: 300, Op: OpLogs, Name: "n", N: 70000, Buffer: -1},
		{Kind: KindRequest, ID: 301, Op: OpHistory, Name: "echo", N: 5, Client: "c", Types: []string{"state", "supervisor_log"}},
		{Kind: KindCancel, ID: 9},
	} {
		var viaGeneric plainRequest
		genericDecode(t, encodeHand(t, &q), &viaGeneric)
		if Request(viaGeneric).Timeout != q.Timeout || !reflect.DeepEqual(Request(viaGeneric), q) {
			t.Errorf("hand → generic: %+v, want %+v", viaGeneric, q)
		}
		p := plainRequest(q)
		if hand, gen := encodeHand(t, &q), generic(t, &p); !bytes.Equal(hand, gen) {
			t.Errorf("hand encoding\n% x\ndiffers from the generic\n% x", hand, gen)
		}
		var viaHand Request
		if err := decodeRequest(generic(t, &p), &viaHand); err != nil || !reflect.DeepEqual(viaHand, q) {
			t.Errorf("generic → hand: %+v (%v), want %+v", viaHand, err, q)
		}
	}
}

func TestReplyCodecAgrees(t *testing.T) {
	want := plainResponse{Kind: KindResponse, ID: 5, Result: testReply()}
	var got plainResponse
	genericDecode(t, encodeHand(t, &Response{Kind: KindResponse, ID: 5, Result: testReply()}), &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hand → generic:\n%+v\nwant\n%+v", got.Result, want.Result)
	}
	// generic → hand, through the client's reader, in the order our server
	// writes and with the result before kind and id.
	fwd := generic(t, &want)
	for name, payload := range map[string][]byte{"id first": fwd, "result first": reorder(t, fwd)} {
		c := &Client{calls: map[uint64]*pending{}, subs: map[uint64]*subscription{}}
		var out supervisor.Reply
		p := &pending{out: &out, done: make(chan error, 1)}
		c.calls[5] = p
		if _, err := c.frame(payload); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := <-p.done; err != nil || !reflect.DeepEqual(&out, want.Result) {
			t.Errorf("%s: generic → hand: %+v (%v)", name, out, err)
		}
	}
}

// reorder re-encodes a map with its keys in reverse order.
func reorder(t *testing.T, payload []byte) []byte {
	t.Helper()
	r := newReader(payload)
	var keys, vals [][]byte
	if err := r.fields("m", func(k []byte) error {
		v, err := r.Raw()
		keys, vals = append(keys, k), append(vals, v)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	_ = enc.EncodeMapLen(len(keys))
	for i := len(keys) - 1; i >= 0; i-- {
		_ = enc.EncodeString(string(keys[i]))
		buf.Write(vals[i])
	}
	return buf.Bytes()
}

func TestEventCodecAgrees(t *testing.T) {
	for _, ev := range []supervisor.Event{
		{Type: supervisor.EventState, Time: testTime, Plugin: "echo", Instance: "echo.0", State: "running", Prev: "starting", Reason: "registered"},
		{Type: supervisor.EventLog, Time: testTime, Plugin: "a", Instance: "a", Log: supervisor.LogLine{Time: testTime, Instance: "a", Stream: supervisor.Stderr, Text: "boom"}},
		{Type: supervisor.EventRecords, Time: testTime, Plugin: "echo", Instance: "echo.0", Records: testReply().Records},
		{Type: supervisor.EventTask, Time: testTime, Plugin: "echo", Instance: "echo.0", Task: &supervisor.TaskEvent{
			Sent: testTime, ID: 7, Token: "t", Content: "c", Outcome: supervisor.OutcomeTimedOut, Reply: *testReply(), Detail: "late"}},
		{Type: supervisor.EventHeartbeat, Time: testTime, RTT: time.Millisecond},
		{Type: supervisor.EventDropped, Time: testTime, Dropped: 1 << 40},
		{Type: supervisor.EventState, Time: testTime, Plugin: "chaos", Instance: "chaos", State: "exited", Prev: "running", Reason: "exited: signal killed",
			Exit: &supervisor.Exit{Time: testTime, Code: -1, Signal: "killed", Reason: "exited: signal killed", Limit: "memory_max"}},
		{Type: supervisor.EventSupervisorLog, Time: testTime, Plugin: "echo", Instance: "echo.0", SupervisorLog: &supervisor.SupervisorLog{
			Level: "WARN", Message: "state", Attrs: "plugin=echo to=exited"}},
	} {
		var got plainEventFrame
		genericDecode(t, encodeHand(t, &EventFrame{Kind: KindEvent, ID: 3, Event: &ev}), &got)
		if got.Kind != KindEvent || got.ID != 3 || !equalEvents(*got.Event, ev) {
			t.Errorf("hand → generic:\n%+v\nwant\n%+v", got.Event, ev)
		}
	}
}

// equalEvents compares events, times by instant (decoded times are local).
func equalEvents(a, b supervisor.Event) bool {
	norm := func(e supervisor.Event) supervisor.Event {
		e.Time = e.Time.UTC()
		e.Log.Time = e.Log.Time.UTC()
		if e.Exit != nil {
			x := *e.Exit
			x.Time = x.Time.UTC()
			e.Exit = &x
		}
		if e.Task != nil {
			t := *e.Task
			t.Sent = t.Sent.UTC()
			e.Task = &t
		}
		return e
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func TestReaderRefusesLies(t *testing.T) {
	for name, payload := range map[string][]byte{
		"map longer than the frame":    {0xdf, 0xff, 0xff, 0xff, 0xff},
		"string longer than the frame": {0x81, 0xa4, 'k', 'i', 'n', 'd', 0xdb, 0x7f, 0, 0, 0},
		"deep nesting":                 append([]byte{0x81, 0xa1, 'x'}, bytes.Repeat([]byte{0x91}, 100)...),
		"truncated":                    {0x82, 0xa4, 'k', 'i', 'n', 'd'},
		"negative id":                  {0x81, 0xa2, 'i', 'd', 0xff},
	} {
		if err := decodeRequest(payload, new(Request)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}
