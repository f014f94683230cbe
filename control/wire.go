package control

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// Version is the control protocol version this package speaks.
const Version uint16 = 1

// Kind names a control frame's type: the "kind" key of every frame.
type Kind string

// The frame kinds of control protocol version 1.
const (
	KindRequest  Kind = "request"  // client → server: call an operation
	KindCancel   Kind = "cancel"   // client → server: abandon request or subscription id
	KindResponse Kind = "response" // server → client: the outcome of request id
	KindEvent    Kind = "event"    // server → client: an event of subscription id
)

// Op names an operation of the operator API.
type Op string

// The operations of control protocol version 1.
const (
	OpHello     Op = "hello"     // versions, client → HelloResult; must be the first request
	OpInfo      Op = "info"      // → supervisor.Info
	OpSnapshot  Op = "snapshot"  // → []supervisor.PluginStatus
	OpStart     Op = "start"     // name
	OpStop      Op = "stop"      // name
	OpRestart   Op = "restart"   // name
	OpReload    Op = "reload"    //
	OpSendTask  Op = "send_task" // name, task_id, content, token, timeout → supervisor.Reply
	OpPing      Op = "ping"      // name, timeout → PingResult
	OpLogs      Op = "logs"      // name, n → []supervisor.LogLine
	OpHistory   Op = "history"   // name (optional), types, n → []supervisor.Event
	OpSubscribe Op = "subscribe" // buffer → nothing, then events carrying this request's id
)

// Request is a client's frame: a request, or a cancel of an earlier one.
// Arguments sit beside op in the same map; each op reads the ones it needs.
type Request struct {
	Kind     Kind          `json:"kind"`
	ID       uint64        `json:"id"`
	Op       Op            `json:"op,omitempty"`
	Name     string        `json:"name,omitempty"`
	TaskID   uint32        `json:"task_id,omitempty"`
	Content  string        `json:"content,omitempty"`
	Token    string        `json:"token,omitempty"`   // send_task: the caller's token, or empty for the engine's
	Timeout  time.Duration `json:"timeout,omitempty"` // ns; 0 leaves the supervisor's own timeout
	N        int           `json:"n,omitempty"`
	Buffer   int           `json:"buffer,omitempty"`
	Versions []uint16      `json:"versions,omitempty"`
	Client   string        `json:"client,omitempty"`
	Types    []string      `json:"types,omitempty"` // history: event types
}

// Response is the server's answer to request ID: Error, or else Result
// (absent for operations that return nothing).
type Response struct {
	Kind   Kind   `json:"kind"`
	ID     uint64 `json:"id"`
	Error  *Error `json:"error,omitempty"`
	Result any    `json:"result,omitempty"`
	// Omitted is how many of the events a history request selected were
	// left out, the oldest, for the result to fit in a frame.
	Omitted int `json:"omitted,omitempty"`
}

// EventFrame carries one event of the subscription opened by request ID.
type EventFrame struct {
	Kind  Kind              `json:"kind"`
	ID    uint64            `json:"id"`
	Event *supervisor.Event `json:"event"`
}

// HelloResult is the server's answer to hello.
type HelloResult struct {
	Version uint16          `json:"version"`
	Info    supervisor.Info `json:"info"`
}

// PingResult is the answer to ping.
type PingResult struct {
	RTT time.Duration `json:"rtt"`
}

// newEncoder returns an encoder using the json tags of the API types, so the
// wire and `--json` output share field names.
func newEncoder() *msgpack.Encoder {
	enc := msgpack.NewEncoder(nil)
	enc.SetCustomStructTag("json")
	enc.UseCompactInts(true)
	return enc
}

func newDecoder() *msgpack.Decoder {
	dec := msgpack.NewDecoder(nil)
	dec.SetCustomStructTag("json")
	return dec
}

// appendFrame encodes v as a frame (length prefix and payload) into buf.
func appendFrame(buf *bytes.Buffer, enc *msgpack.Encoder, v any) error {
	buf.Reset()
	buf.Write([]byte{0, 0, 0, 0})
	if err := encodeTo(buf, enc, v); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	binary.BigEndian.PutUint32(buf.Bytes(), uint32(buf.Len()-protocol.HeaderSize))
	return nil
}

// decodeFrame decodes one payload into v, which must be a fresh value: a key
// absent from the payload leaves its field as it was.
func decodeFrame(dec *msgpack.Decoder, payload []byte, v any) error {
	r := bytes.NewReader(payload)
	dec.ResetReader(r)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed payload: %w", err)
	}
	if r.Len() > 0 {
		return fmt.Errorf("malformed payload: %d bytes after the message", r.Len())
	}
	return nil
}

// Encode returns a message as a complete frame, as it travels on the wire.
func Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := appendFrame(&buf, newEncoder(), v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decode decodes a payload (a frame without its length prefix) into v with
// the generic decoder and the json tags, as a client in another language
// would: for tools and tests. The server and Client read frames by hand.
func Decode(payload []byte, v any) error { return decodeFrame(newDecoder(), payload, v) }
