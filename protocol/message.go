package protocol

import "time"

// Kind names a message type on the wire (the "kind" key of every frame).
type Kind string

// The message kinds of protocol version 1.
const (
	KindHello    Kind = "hello"    // plugin → supervisor, first frame
	KindWelcome  Kind = "welcome"  // supervisor → plugin, accepts the hello
	KindReject   Kind = "reject"   // supervisor → plugin, refuses the hello; the connection closes
	KindData     Kind = "data"     // plugin → supervisor, a batch of records
	KindTask     Kind = "task"     // supervisor → plugin
	KindPing     Kind = "ping"     // either way
	KindPong     Kind = "pong"     // either way, answers a ping
	KindGoodbye  Kind = "goodbye"  // plugin → supervisor, the plugin is leaving
	KindShutdown Kind = "shutdown" // supervisor → plugin, leave within the grace period
)

// Message is one frame's content.
type Message interface {
	Kind() Kind
}

// Hello is the plugin's first frame: who it is and which protocol versions it
// speaks.
type Hello struct {
	Versions []uint16 // protocol versions the plugin speaks
	Name     string   // plugin name as configured in the registry
	Version  string   // the plugin's own version
	PID      int      // the plugin's process id, cross-checked with kernel credentials
	Instance string   // instance id given in PLUGVISOR_INSTANCE
}

// Welcome accepts a Hello.
type Welcome struct {
	Protocol   uint16        // the version chosen for this connection
	Heartbeat  time.Duration // how often each side should ping; wire unit: ms
	Supervisor string        // the supervisor's name
	MaxFrame   uint32        // largest frame the supervisor accepts; 0 means the default
}

// RejectCode is the machine-readable reason for a Reject.
type RejectCode string

// Reasons the supervisor refuses a plugin.
const (
	RejectUnknownPlugin    RejectCode = "unknown_plugin"
	RejectVersion          RejectCode = "no_common_version"
	RejectCredentials      RejectCode = "credentials"
	RejectAlreadyConnected RejectCode = "already_connected"
	RejectBadHello         RejectCode = "bad_hello"
)

// Reject refuses a Hello; the supervisor closes the connection after it.
type Reject struct {
	Code     RejectCode
	Reason   string   // for a person
	Versions []uint16 // the versions the supervisor speaks
}

// Record is one datum: string fields including a non-empty "data_type", the
// time it was observed, and, for a task reply, the task's token.
type Record struct {
	Timestamp int64             `json:"timestamp"` // unix nanoseconds
	Token     string            `json:"token,omitempty"`
	Fields    map[string]string `json:"fields"`
}

// DataType is the record's required "data_type" field.
func (r Record) DataType() string { return r.Fields[FieldDataType] }

// Reserved record fields.
const (
	// FieldDataType is the one field every record must carry.
	FieldDataType = "data_type"
	// FieldTaskStatus marks the final reply record of a task: StatusOK or
	// StatusError. Records carrying a task's token without it are progress;
	// the first one carrying it completes the task.
	FieldTaskStatus = "task_status"
	// FieldError holds the error text of a StatusError reply.
	FieldError = "error"
)

// Values of FieldTaskStatus.
const (
	StatusOK    = "ok"
	StatusError = "error"
)

// Data carries one or more records; batching many records in one frame is how
// a busy plugin avoids paying a frame per record.
type Data struct {
	Records []Record
}

// Task asks the plugin to do something. Every reply record carries Token.
type Task struct {
	ID      uint32
	Content string
	Token   string
}

// Ping asks the peer for a Pong with the same Seq; Time is the sender's clock
// (unix ns), echoed so the sender can measure the round trip statelessly.
type Ping struct {
	Seq  uint64
	Time int64
}

// Pong answers a Ping, echoing its Seq and Time.
type Pong struct {
	Seq  uint64
	Time int64
}

// Goodbye tells the supervisor the plugin is leaving on purpose.
type Goodbye struct {
	Reason string
}

// Shutdown asks the plugin to finish and leave within Grace.
type Shutdown struct {
	Grace  time.Duration // wire unit: ms
	Reason string
}

func (*Hello) Kind() Kind    { return KindHello }
func (*Welcome) Kind() Kind  { return KindWelcome }
func (*Reject) Kind() Kind   { return KindReject }
func (*Data) Kind() Kind     { return KindData }
func (*Task) Kind() Kind     { return KindTask }
func (*Ping) Kind() Kind     { return KindPing }
func (*Pong) Kind() Kind     { return KindPong }
func (*Goodbye) Kind() Kind  { return KindGoodbye }
func (*Shutdown) Kind() Kind { return KindShutdown }
