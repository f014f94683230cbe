package control

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// The CONTROL section's examples are generated from the encoder by this file; never
// type hex by hand:
//
//	go test ./control -run TestSpecGenerated -update
var update = flag.Bool("update", false, "regenerate the CONTROL section's examples in protocol/PROTOCOL.md")

// specFile holds the CONTROL section after controlMarker; the plugin
// protocol above it is protocol/spec_test.go's.
const specFile = "../protocol/PROTOCOL.md"

const controlMarker = "<!-- control protocol: checked by control/spec_test.go"

const (
	beginExamples = "<!-- BEGIN GENERATED EXAMPLES: go test ./control -run TestSpecGenerated -update -->"
	endExamples   = "<!-- END GENERATED EXAMPLES -->"
)

// exampleTime is 2025-11-21T20:00:00Z.
var exampleTime = time.Unix(1763755200, 0).UTC()

type example struct {
	Title, Direction string
	Msg              any
}

func specExamples() []example {
	const token = "5e1f09a2-12"
	reply := &supervisor.Reply{Plugin: "echo", Instance: "echo.0", ID: 7, Token: token, Outcome: supervisor.OutcomeAnswered, Status: protocol.StatusOK, RTT: 85 * time.Microsecond,
		Records: []protocol.Record{{Timestamp: exampleTime.UnixNano(), Token: token,
			Fields: map[string]string{"data_type": "echo", "content": "uptime", "task_status": "ok"}}}}
	return []example{
		{"hello", "client → server", &Request{Kind: KindRequest, ID: 1, Op: OpHello, Versions: []uint16{1}, Client: "plugvisor[4242]"}},
		{"hello: response", "server → client", &Response{Kind: KindResponse, ID: 1, Result: &HelloResult{Version: 1, Info: supervisor.Info{
			Name: "edge-1", Host: "edge-1", PID: 4100, Started: exampleTime, Socket: "/var/lib/plugvisor/plugvisor.sock",
			ControlSocket: "/var/lib/plugvisor/plugvisor.ctl.sock", ConfigFiles: []string{"/etc/plugvisor/config.toml"},
			HeartbeatTimeout: 5 * time.Second}}}},
		{"send_task", "client → server", &Request{Kind: KindRequest, ID: 2, Op: OpSendTask, Name: "echo", TaskID: 7, Content: "uptime", Timeout: 5 * time.Second}},
		{"send_task: response", "server → client", &Response{Kind: KindResponse, ID: 2, Result: reply}},
		{"error response", "server → client", &Response{Kind: KindResponse, ID: 3, Error: &Error{Code: CodeUnknownPlugin, Message: `"nosuch": unknown plugin`}}},
		{"ping", "client → server", &Request{Kind: KindRequest, ID: 4, Op: OpPing, Name: "echo"}},
		{"ping: response", "server → client", &Response{Kind: KindResponse, ID: 4, Result: &PingResult{RTT: 42 * time.Microsecond}}},
		{"start", "client → server", &Request{Kind: KindRequest, ID: 5, Op: OpStart, Name: "echo"}},
		{"start: response", "server → client", &Response{Kind: KindResponse, ID: 5}},
		{"logs", "client → server", &Request{Kind: KindRequest, ID: 6, Op: OpLogs, Name: "echo", N: 1}},
		{"logs: response", "server → client", &Response{Kind: KindResponse, ID: 6, Result: []supervisor.LogLine{
			{Time: exampleTime, Instance: "echo.0", Stream: supervisor.Stderr, Text: "warming up"}}}},
		{"history", "client → server", &Request{Kind: KindRequest, ID: 7, Op: OpHistory, Name: "chaos", Types: []string{"state"}, N: 1}},
		{"history: response", "server → client", &Response{Kind: KindResponse, ID: 7, Result: []supervisor.Event{{Type: supervisor.EventState, Time: exampleTime,
			Plugin: "chaos", Instance: "chaos", State: supervisor.StateExited, Prev: supervisor.StateRunning, Reason: "exited: exit 1",
			Exit: &supervisor.Exit{Time: exampleTime, Code: 1, Reason: "exited: exit 1"}}}}},
		{"subscribe", "client → server", &Request{Kind: KindRequest, ID: 8, Op: OpSubscribe, Buffer: 1024}},
		{"subscribe: response", "server → client", &Response{Kind: KindResponse, ID: 8}},
		{"event", "server → client", &EventFrame{Kind: KindEvent, ID: 8, Event: &supervisor.Event{Type: supervisor.EventState, Time: exampleTime,
			Plugin: "echo", Instance: "echo.0", State: supervisor.StateRunning, Prev: supervisor.StateStarting, Reason: "registered (pid 4243, protocol v1)"}}},
		{"cancel", "client → server", &Request{Kind: KindCancel, ID: 8}},
		{"protocol error", "server → client", &Response{Kind: KindResponse, Error: &Error{Code: CodeProtocol,
			Message: "bad frame from client: request snapshot before hello"}}},
	}
}

// exampleFrame encodes v. Go randomises map order, so a record's fields
// leave in any order; the smallest of many encodings keeps the doc stable.
func exampleFrame(t *testing.T, v any) []byte {
	var best []byte
	for range 200 {
		f, err := Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		if best == nil || bytes.Compare(f, best) < 0 {
			best = f
		}
	}
	return best
}

func examplesSection(t *testing.T) string {
	var b strings.Builder
	for _, ex := range specExamples() {
		f := exampleFrame(t, ex.Msg)
		fmt.Fprintf(&b, "\n#### %s (%s)\n\n", ex.Title, ex.Direction)
		fmt.Fprintf(&b, "%d bytes: the length prefix `%x` (%d), then the payload:\n\n", len(f), f[:protocol.HeaderSize], len(f)-protocol.HeaderSize)
		fmt.Fprintf(&b, "```json\n%s\n```\n\n", orderedJSON(t, f[protocol.HeaderSize:]))
		fmt.Fprintf(&b, "```hex\n%s```\n", hex.Dump(f))
	}
	return b.String()
}

// orderedJSON renders a payload as JSON in wire order, as a generic
// msgpack library reads it; timestamps show as RFC 3339 strings.
func orderedJSON(t *testing.T, payload []byte) string {
	dec := msgpack.NewDecoder(bytes.NewReader(payload))
	dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) {
		n, err := d.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		var m orderedMap
		for range n {
			k, err := d.DecodeString()
			if err != nil {
				return nil, err
			}
			v, err := d.DecodeInterface()
			if err != nil {
				return nil, err
			}
			m = append(m, [2]any{k, v})
		}
		return m, nil
	})
	v, err := dec.DecodeInterface()
	if err != nil {
		t.Fatalf("the generic library cannot read an example: %v", err)
	}
	var b strings.Builder
	writeJSON(&b, v)
	return b.String()
}

type orderedMap [][2]any

func writeJSON(b *strings.Builder, v any) {
	switch v := v.(type) {
	case orderedMap:
		b.WriteString("{")
		for i, kv := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, kv[0])
			b.WriteString(": ")
			writeJSON(b, kv[1])
		}
		b.WriteString("}")
	case []any:
		b.WriteString("[")
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, e)
		}
		b.WriteString("]")
	case time.Time:
		writeJSON(b, v.UTC().Format(time.RFC3339Nano))
	default:
		j, _ := json.Marshal(v)
		b.Write(j)
	}
}

// TestSpecGenerated regenerates the CONTROL section's examples and fails if the file
// differs (with -update, writes it).
func TestSpecGenerated(t *testing.T) {
	old, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(old)
	// The END marker reads the same as the plugin protocol's, which comes
	// first in the file: look for it after our BEGIN.
	i := strings.Index(doc, beginExamples)
	j := -1
	if i >= 0 {
		if k := strings.Index(doc[i:], endExamples); k >= 0 {
			j = i + k
		}
	}
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q ... %q", specFile, beginExamples, endExamples)
	}
	doc = doc[:i+len(beginExamples)] + "\n" + examplesSection(t) + "\n" + doc[j:]
	if *update {
		if err := os.WriteFile(specFile, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if doc != string(old) {
		t.Errorf("%s's examples are stale; run: go test ./control -run TestSpecGenerated -update", specFile)
	}
}

var hexBlock = regexp.MustCompile("(?s)#### ([^\n]*) \\((client → server|server → client)\\)\n.*?```hex\n(.*?)```")

// TestSpecHexDecodes reads every hex block of the CONTROL section back from the text
// and decodes it the way the receiving side does.
func TestSpecHexDecodes(t *testing.T) {
	doc, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(doc, []byte(controlMarker))
	if i < 0 {
		t.Fatalf("%s has no %q marker before the CONTROL section", specFile, controlMarker)
	}
	doc = doc[i:]
	blocks := hexBlock.FindAllStringSubmatch(string(doc), -1)
	if len(blocks) != len(specExamples()) {
		t.Fatalf("%s has %d hex examples, want %d", specFile, len(blocks), len(specExamples()))
	}
	for _, m := range blocks {
		title, dir, frame := m[1], m[2], undump(t, m[3])
		payload, err := protocol.ReadFrame(bytes.NewReader(frame), nil, 0)
		if err != nil {
			t.Fatalf("%s: %v", title, err)
		}
		if dir == "client → server" {
			var q Request
			if err := decodeRequest(payload, &q); err != nil || q.Kind == "" {
				t.Errorf("%s: the server cannot read it: %v", title, err)
			}
			continue
		}
		c := &Client{calls: map[uint64]*pending{}, subs: map[uint64]*subscription{}}
		if _, err := c.frame(payload); err != nil {
			t.Errorf("%s: the client cannot read it: %v", title, err)
		}
	}
}

// undump turns `hexdump -C` lines back into bytes.
func undump(t *testing.T, dump string) []byte {
	var out []byte
	for _, line := range strings.Split(strings.TrimSpace(dump), "\n") {
		cols := line
		if i := strings.Index(cols, "|"); i >= 0 {
			cols = cols[:i]
		}
		fields := strings.Fields(cols)
		for _, f := range fields[1:] { // fields[0] is the offset
			b, err := hex.DecodeString(f)
			if err != nil {
				t.Fatalf("bad hex %q in %q", f, line)
			}
			out = append(out, b...)
		}
	}
	return out
}
