package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/plugvisor/plugvisor/internal/clip"
	"github.com/plugvisor/plugvisor/internal/jsontext"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// The operations of a host's API: the last token of Subjects.API(op), and
// the micro endpoints' names.
const (
	OpInfo    = "info"
	OpStatus  = "status" // Snapshot
	OpStart   = "start"
	OpStop    = "stop"
	OpRestart = "restart"
	OpReload  = "reload"
	OpSend    = "send" // SendTask
	OpPing    = "ping"
	OpLogs    = "logs"
	OpHistory = "history"
)

// Ops lists every operation, in the order the service adds them.
func Ops() []string {
	return []string{OpInfo, OpStatus, OpStart, OpStop, OpRestart, OpReload, OpSend, OpPing, OpLogs, OpHistory}
}

// InfoResult is info's result: the engine's Info, and the labels the host
// is served with. A fleet takes a host's labels from here and never from
// its discovery answer: any host may answer a discovery request in
// another's name, but only the host itself may serve its API subjects.
type InfoResult struct {
	supervisor.Info
	Labels map[string]string `json:"fleet_labels,omitempty"`
}

// Request bodies are JSON so that any NATS client can call the API; info,
// status and reload take none (or {}), history takes a
// supervisor.HistoryQuery as it is.

// NameRequest is the body of start, stop and restart.
type NameRequest struct {
	Name string `json:"name"`
}

// SendRequest is the body of send. Timeout is a Go duration ("5s"): the
// caller's deadline travels as what is left of it, because the two ends'
// clocks need not agree.
type SendRequest struct {
	Plugin  string `json:"plugin"`
	ID      uint32 `json:"id"`
	Content string `json:"content"`
	Token   string `json:"token,omitempty"`
	Timeout string `json:"timeout,omitempty"`
}

// PingRequest is the body of ping; Timeout as in SendRequest.
type PingRequest struct {
	Name    string `json:"name"`
	Timeout string `json:"timeout,omitempty"`
}

// LogsRequest is the body of logs: the newest n lines (0: all kept).
type LogsRequest struct {
	Name string `json:"name"`
	N    int    `json:"n,omitempty"`
}

// Results are the JSON of the supervisor's types: info an Info, status a
// []PluginStatus, send a Reply (with an error too), logs a []LogLine, and
// start, stop, restart and reload {}.

// PingResult is the result of ping.
type PingResult struct {
	RTT time.Duration `json:"rtt"`
}

// HistoryResult is the result of history: the newest events that fit in a
// response, oldest first, and how many older ones were left out.
type HistoryResult struct {
	Events  []supervisor.Event `json:"events"`
	Omitted int                `json:"omitted"`
}

// wireTimeout is a request's timeout as it travels.
func wireTimeout(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.String()
}

// parseTimeout reads a request's timeout; "" is none.
func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("timeout %q is not a duration like \"5s\"", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("timeout %s is negative", s)
	}
	return d, nil
}

// MaxEventBytes bounds an event message's body DecodeEvent accepts.
const MaxEventBytes = 8 << 20

// EncodeEvent is the body of an event message on Subjects.Event: the
// event's JSON.
func EncodeEvent(ev *supervisor.Event) ([]byte, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", ev.Type, err)
	}
	return b, nil
}

// DecodeEvent reads the body of an event message.
func DecodeEvent(b []byte) (supervisor.Event, error) {
	var ev supervisor.Event
	if len(b) > MaxEventBytes {
		return ev, fmt.Errorf("event of %d bytes, at most %d", len(b), MaxEventBytes)
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return supervisor.Event{}, fmt.Errorf("decode event: %w", err)
	}
	if ev.Type == "" {
		return supervisor.Event{}, errors.New("decode event: no type")
	}
	return ev, nil
}

// Headers of a record message on Subjects.Records; its body is a JSON
// object of the record's fields.
const (
	HeaderInstance  = "Plugvisor-Instance"
	HeaderToken     = "Plugvisor-Token"     // only when the record carries a task's token
	HeaderTimestamp = "Plugvisor-Timestamp" // unix nanoseconds, decimal
)

// Bounds of a record message DecodeRecord accepts.
const (
	MaxRecordBytes  = 1 << 20
	MaxRecordFields = 4096
	maxHeaderText   = 4096 // an instance or a token header
)

// DecodeRecord reads a record message: the plugin from its subject (the
// token after the host), the instance and token from its headers, the
// record from its body.
func DecodeRecord(msg *nats.Msg) (plugin, instance string, rec protocol.Record, err error) {
	if plugin, err = recordPlugin(msg.Subject); err != nil {
		return "", "", rec, err
	}
	instance = msg.Header.Get(HeaderInstance)
	rec.Token = msg.Header.Get(HeaderToken)
	switch {
	case instance == "":
		return "", "", rec, fmt.Errorf("record on %s: no %s header", msg.Subject, HeaderInstance)
	case len(instance) > maxHeaderText || len(rec.Token) > maxHeaderText:
		return "", "", rec, fmt.Errorf("record on %s: %s or %s header over %d bytes", msg.Subject, HeaderInstance, HeaderToken, maxHeaderText)
	case len(msg.Data) > MaxRecordBytes:
		return "", "", rec, fmt.Errorf("record on %s: %d bytes, at most %d", msg.Subject, len(msg.Data), MaxRecordBytes)
	}
	ts := msg.Header.Get(HeaderTimestamp)
	if rec.Timestamp, err = strconv.ParseInt(ts, 10, 64); err != nil {
		return "", "", rec, fmt.Errorf("record on %s: %s %q is not unix nanoseconds", msg.Subject, HeaderTimestamp, ts)
	}
	// By hand, not by encoding/json's reflection: at a fleet's record
	// rates that decode was a quarter of the console's CPU.
	if rec.Fields, err = jsontext.DecodeObject(msg.Data, MaxRecordFields); err != nil {
		return "", "", rec, fmt.Errorf("record on %s: fields: %w", msg.Subject, err)
	}
	return plugin, instance, rec, nil
}

// recordPlugin is the plugin token of a subject
// <prefix>.rec.<host>.<plugin>.<data_type>, read from the end because the
// prefix may hold dots of its own.
func recordPlugin(subject string) (string, error) {
	t := strings.Split(subject, ".")
	n := len(t)
	if n < 5 || t[n-4] != "rec" || t[n-2] == "" {
		return "", fmt.Errorf("subject %q is not <prefix>.rec.<host>.<plugin>.<data_type>", subject)
	}
	return t[n-2], nil
}

// decode reads a request's JSON body into v; an empty body is an empty
// request.
func decode(op string, body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("%s: request body is not the JSON expected: %v", op, err)
	}
	return nil
}

// decodeNamed is decode for a request whose name is required.
func decodeNamed(op string, body []byte, v any, name *string) error {
	if err := decode(op, body, v); err != nil {
		return err
	}
	if *name == "" {
		return badRequest("%s: name is required", op)
	}
	return nil
}

// result is v's JSON, or err.
func result[T any](v T, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return b, nil
}

// done is the result of an operation that returns nothing: {}.
func done(err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return []byte("{}"), nil
}

// fitNewest is the JSON array of the newest of items that fit in room
// bytes, and how many older ones it left out. It stops at the first that
// does not fit, however small the older ones: a result with a hole in it
// would mislead.
func fitNewest[T any](items []T, room int) ([]byte, int, error) {
	used := len("[]")
	var parts [][]byte // newest first
	i := len(items)
	for ; i > 0; i-- {
		b, err := json.Marshal(&items[i-1])
		if err != nil {
			return nil, 0, fmt.Errorf("encode result: %w", err)
		}
		n := len(b)
		if len(parts) > 0 {
			n++ // the comma
		}
		if used+n > room {
			break
		}
		used += n
		parts = append(parts, b)
	}
	out := make([]byte, 0, used)
	out = append(out, '[')
	for j := len(parts) - 1; j >= 0; j-- {
		out = append(out, parts[j]...)
		if j > 0 {
			out = append(out, ',')
		}
	}
	return append(out, ']'), i, nil
}

// historyEnvelope bounds what a history result holds around its events.
const historyEnvelope = len(`{"events":,"omitted":}`) + 20

// fitHistory is the HistoryResult of the newest events that fit in room.
func fitHistory(events []supervisor.Event, room int) ([]byte, int, error) {
	arr, omitted, err := fitNewest(events, room-historyEnvelope)
	if err != nil {
		return nil, 0, err
	}
	out := make([]byte, 0, len(arr)+historyEnvelope)
	out = append(out, `{"events":`...)
	out = append(out, arr...)
	out = append(out, `,"omitted":`...)
	out = strconv.AppendInt(out, int64(omitted), 10)
	return append(out, '}'), omitted, nil
}

// fitReply is a task's reply as it fits in room: whole, or with its final
// record only, or with none, the records left out counted in Dropped; and
// when even that is too large, with its texts cut (see cutTexts). A task's
// outcome and token must reach the caller whatever its records and texts
// weigh. fields encodes the records' fields.
func fitReply(r supervisor.Reply, room int, fields *jsontext.Fields) []byte {
	b := make([]byte, 0, 512)
	for _, keep := range []int{len(r.Records), 1, 0} {
		kept := r.KeepLast(keep)
		if b = appendReply(b[:0], &kept, fields); len(b) <= room {
			return b
		}
	}
	kept := cutTexts(r.KeepLast(0), room)
	return appendReply(b[:0], &kept, fields)
}

// cutTexts cuts the texts of r that a peer chose (the plugin's error, a
// name or token the caller sent that the host did not know) to a share of
// room each, so that the five of them fit in room even when every byte is
// escaped six to one (\u003c), with room to spare for the rest of the
// reply: room is 4 KiB at least (see newService).
func cutTexts(r supervisor.Reply, room int) supervisor.Reply {
	n := room / 48
	r.Plugin, r.Instance, r.Token = clip.Text(r.Plugin, n), clip.Text(r.Instance, n), clip.Text(r.Token, n)
	r.Status, r.Error = clip.Text(r.Status, n), clip.Text(r.Error, n)
	return r
}
