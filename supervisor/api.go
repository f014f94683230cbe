package supervisor

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// API is the operator's contract with the engine. *Supervisor implements it
// in process; the control-socket client implements it remotely, so every face
// (console, headless, scripts) works the same against either.
//
// A name is a plugin name (meaning all of its instances) or an instance id.
// Every method takes a context first and can fail: a remote API's every call
// can, and a caller that cannot tell "no plugins" from "no answer" would show
// the wrong thing. Cancelling ctx abandons the wait, not the operation: a
// start already handed to the engine goes on.
type API interface {
	Info(ctx context.Context) (Info, error)
	Snapshot(ctx context.Context) ([]PluginStatus, error)
	Start(ctx context.Context, name string) error
	Stop(ctx context.Context, name string) error
	Restart(ctx context.Context, name string) error
	Reload(ctx context.Context) error
	SendTask(ctx context.Context, req TaskRequest) (Reply, error)
	Ping(ctx context.Context, name string) (time.Duration, error)
	Logs(ctx context.Context, name string, n int) ([]LogLine, error)
	// History returns what the engine kept of what happened, oldest first:
	// state changes (with the exit that ended a run), tasks' outcomes,
	// data records and the supervisor's own log, each kept within a byte
	// budget that drops the oldest first (Info.HistoryDropped). A face
	// that subscribes and then asks for History has the past and the
	// present; events published between the two may be in both.
	History(ctx context.Context, q HistoryQuery) ([]Event, error)
	// Subscribe streams events into a channel of buffer events until cancel
	// is called or ctx ends; the channel is then closed.
	Subscribe(ctx context.Context, buffer int) (events <-chan Event, cancel func(), err error)
}

// SkippingSubscriber is an API that can leave event types out of a
// subscription (the engine itself does): a face checks for it and falls back
// to Subscribe, filtering itself, where the API cannot.
type SkippingSubscriber interface {
	SubscribeWithout(ctx context.Context, buffer int, skip ...EventType) (events <-chan Event, cancel func(), err error)
}

// HistoryQuery selects from what History keeps.
type HistoryQuery struct {
	// Plugin is a plugin name or an instance id; empty means every plugin
	// and the whole supervisor log. With a name, the supervisor log lines
	// kept are those logged about that plugin.
	Plugin string `json:"plugin,omitempty"`
	// Types are which events: EventState, EventTask (final outcomes only),
	// EventRecords and EventSupervisorLog; empty means all four.
	Types []EventType `json:"types,omitempty"`
	// N keeps the newest n events of the result; 0 keeps all.
	N int `json:"n,omitempty"`
}

// TaskRequest is a task an operator sends. Token is optional: a caller that
// wants to know its task's token before the reply (to show it as pending, to
// find it among events) chooses one; otherwise the engine makes one. A
// chosen token must be unique among the tasks in flight to that instance
// (ErrTokenInUse) and at most MaxTokenLen printable bytes (ErrBadToken).
type TaskRequest struct {
	Plugin  string `json:"plugin"` // plugin name (round-robin over instances) or instance id
	ID      uint32 `json:"id"`
	Content string `json:"content"`
	Token   string `json:"token,omitempty"`
}

// MaxTokenLen bounds a caller-chosen task token.
const MaxTokenLen = 64

// Info describes the supervisor an API talks to.
type Info struct {
	Name              string    `json:"name"`
	Host              string    `json:"host"`
	PID               int       `json:"pid"`
	Started           time.Time `json:"started"`
	Socket            string    `json:"socket"`
	ControlSocket     string    `json:"control_socket"`
	ConfigFiles       []string  `json:"config_files"`
	DroppedEvents     uint64    `json:"dropped_events"`      // events lost by slow subscribers, all told
	DroppedEventBytes uint64    `json:"dropped_event_bytes"` // their estimated size
	// Plugin-socket connections closed before they registered: refused
	// (not from a process plugvisor is waiting for, or no valid hello), and
	// shed (beyond the bound on connections not yet registered).
	RefusedConns uint64 `json:"refused_connections"`
	ShedConns    uint64 `json:"shed_connections"`
	// Containment says, a line per feature, how plugins are contained on
	// this machine: cgroup layout, limits, kill, sandbox.
	Containment      []string `json:"containment,omitempty"`
	WatchdogPID      int      `json:"watchdog_pid,omitempty"`
	WatchdogRestarts int      `json:"watchdog_restarts,omitempty"` // times the watchdog died and was started again
	// HeartbeatTimeout is how long a session may go without a pong before
	// its instance is hung: a face warns of a late heartbeat before that.
	HeartbeatTimeout time.Duration `json:"heartbeat_timeout"`
	// What History let go of to stay within its budgets, and its
	// estimated bytes: one a record for data records, one an event for
	// state changes, tasks and log lines. A kept task's reply records cut
	// to fit are counted in its Reply.Dropped, not here.
	HistoryDropped      uint64 `json:"history_dropped"`
	HistoryDroppedBytes uint64 `json:"history_dropped_bytes"`
}

// What every face says of the watchdog, in one place.
const (
	NoWatchdog        = "none: plugins may outlive a crash of the supervisor"
	WatchdogRestarted = "it died and was started again"
)

// State is where an instance is in its lifecycle.
type State string

// The lifecycle: stopped → starting → running → stopping → stopped, with
// exited → backoff → starting per restart policy, and failed until an
// operator acts.
const (
	StateStopped  State = "stopped"
	StateStarting State = "starting"
	StateRunning  State = "running"
	StateStopping State = "stopping"
	StateExited   State = "exited"
	StateBackoff  State = "backoff"
	StateFailed   State = "failed"
)

// Exit describes how a process ended.
type Exit struct {
	Time   time.Time `json:"time"`
	Code   int       `json:"code"`             // exit code, or -1 when killed by a signal
	Signal string    `json:"signal,omitempty"` // e.g. "killed", empty for a normal exit
	Reason string    `json:"reason"`           // why the supervisor considers it ended
	// Limit is the cgroup limit the run hit, memory_max (an OOM kill) or
	// pids_max (forks refused); empty when none was.
	Limit string `json:"limit,omitempty"`
}

func (e Exit) String() string {
	switch {
	case e.Time.IsZero():
		return ""
	case e.Signal != "":
		return "signal " + e.Signal
	default:
		return "exit " + strconv.Itoa(e.Code)
	}
}

// Counters are a session's traffic, cumulative over the instance's life.
type Counters struct {
	FramesIn      uint64 `json:"frames_in"`
	FramesOut     uint64 `json:"frames_out"`
	BytesIn       uint64 `json:"bytes_in"`
	BytesOut      uint64 `json:"bytes_out"`
	RecordsIn     uint64 `json:"records_in"`
	RecordsOut    uint64 `json:"records_out"`
	TasksSent     uint64 `json:"tasks_sent"`
	TasksAnswered uint64 `json:"tasks_answered"`
	TasksFailed   uint64 `json:"tasks_failed"`
	TasksTimedOut uint64 `json:"tasks_timed_out"`
	// Progress records not kept for task replies (beyond 10,000 a task or
	// a reply byte budget), and their estimated bytes.
	ReplyRecordsDropped uint64 `json:"reply_records_dropped"`
	ReplyBytesDropped   uint64 `json:"reply_bytes_dropped"`
	// Output writes lost to a log file refused or failing (a planted
	// symlink, a full disk); the in-memory lines and events still have them.
	LogWritesDropped uint64 `json:"log_writes_dropped"`
}

// PluginStatus is one instance as the operator sees it.
type PluginStatus struct {
	Name          string    `json:"name"`
	Instance      string    `json:"instance"`
	Version       string    `json:"version"` // configured version; the plugin's own in PluginVersion
	PluginVersion string    `json:"plugin_version"`
	State         State     `json:"state"`
	Reason        string    `json:"reason"` // why it entered State
	Since         time.Time `json:"since"`
	PID           int       `json:"pid"`
	PGID          int       `json:"pgid"`
	Started       time.Time `json:"started"` // when the current process was started (zero if none)
	Restarts      int       `json:"restarts"`
	LastExit      Exit      `json:"last_exit"`
	Exits         []Exit    `json:"exits"` // most recent last, bounded
	Exec          string    `json:"exec"`
	Args          []string  `json:"args"`
	SHA256        string    `json:"sha256"`
	WorkDir       string    `json:"work_dir"`
	StdoutLog     string    `json:"stdout_log"`
	StderrLog     string    `json:"stderr_log"`
	Protocol      uint16    `json:"protocol"`
	// From the configuration: the restart policy, how many instances the
	// plugin runs, and the names (never the values) of the variables it
	// sets in the plugin's environment.
	Restart   string   `json:"restart,omitempty"`
	Instances int      `json:"instances,omitempty"`
	EnvKeys   []string `json:"env_keys,omitempty"`

	LastHeartbeat time.Time     `json:"last_heartbeat"`
	HeartbeatRTT  time.Duration `json:"heartbeat_rtt"`
	RTTp50        time.Duration `json:"rtt_p50"` // task round trips
	RTTp99        time.Duration `json:"rtt_p99"`
	InFlight      int           `json:"in_flight"`
	RecordsPerSec float64       `json:"records_per_sec"`
	CPUPercent    float64       `json:"cpu_percent"` // whole process group, percent of one core
	RSS           int64         `json:"rss"`         // whole process group, bytes
	NextStart     time.Time     `json:"next_start"`  // in backoff: when the next attempt is due

	// Containment of the current (or last) run.
	User              string `json:"user,omitempty"`                // "name (uid N)" when not the supervisor's own
	Cgroup            string `json:"cgroup,omitempty"`              // the instance's cgroup directory; empty: process group only
	Limits            string `json:"limits,omitempty"`              // configured limits, e.g. "memory_max 64MiB, pids_max 32"
	LimitsNotEnforced string `json:"limits_not_enforced,omitempty"` // which of them this machine cannot enforce, and why
	Sandboxed         bool   `json:"sandboxed,omitempty"`
	OOMKills          uint64 `json:"oom_kills,omitempty"`       // processes OOM-killed at memory_max, all runs
	PidsLimitHits     uint64 `json:"pids_limit_hits,omitempty"` // forks refused at pids_max, all runs
	Counters

	// On an API over many hosts (a fleet), the host that runs the
	// instance; Name and Instance are then qualified, "HOST/NAME" (see
	// QualifiedName), so every face keys and routes rows as before. Empty
	// on one host's API.
	Host       string            `json:"host,omitempty"`
	HostLabels map[string]string `json:"host_labels,omitempty"`
	// When the host last answered, and whether it has stopped answering:
	// an unreachable host's rows are kept as last seen, never dropped.
	HostLastSeen    time.Time `json:"host_last_seen,omitzero"`
	HostUnreachable bool      `json:"host_unreachable,omitempty"`

	// The signature that authorised the current (or last) run, for a
	// plugin that requires one: the signing key's minisign id and its
	// [trust.keys.<name>], the trusted comment as signed, and when it
	// says it was signed. Empty for an unsigned plugin.
	SignerKeyID   string    `json:"signer_key_id,omitempty"`
	SignerKeyName string    `json:"signer_key_name,omitempty"`
	SignedComment string    `json:"signed_comment,omitempty"`
	SignedAt      time.Time `json:"signed_at,omitzero"`
}

// HostSeparator joins a host and a plugin or instance name on an API over
// many hosts. Host names are NATS subject tokens (letters, digits, '_' and
// '-'), so the first separator always ends the host.
const HostSeparator = "/"

// QualifiedName is name as an API over many hosts names it on host.
func QualifiedName(host, name string) string {
	if host == "" {
		return name
	}
	return host + HostSeparator + name
}

// SplitHost splits a qualified name into its host and the name on that
// host; ok is false when name names no host.
func SplitHost(name string) (host, local string, ok bool) {
	return strings.Cut(name, HostSeparator)
}

// Uptime is how long the current process has been running.
func (p PluginStatus) Uptime(now time.Time) time.Duration {
	if p.Started.IsZero() || (p.State != StateRunning && p.State != StateStarting) {
		return 0
	}
	return now.Sub(p.Started)
}

// Outcome is how a task ended, or that it has not ended yet. It is what
// every face shows and acts on; the texts beside it are for people.
type Outcome string

// The outcomes of a task.
const (
	OutcomePending   Outcome = "pending"     // on the wire; no final reply yet
	OutcomeAnswered  Outcome = "answered"    // final reply with status ok
	OutcomeError     Outcome = "error_reply" // final reply with status error; the plugin's text in Reply.Error
	OutcomeTimedOut  Outcome = "timed_out"   // no final reply within the task timeout or the caller's deadline
	OutcomeGone      Outcome = "plugin_gone" // the plugin's connection ended first
	OutcomeCancelled Outcome = "cancelled"   // the caller cancelled first
	OutcomeNotSent   Outcome = "not_sent"    // it never reached the plugin
)

// Final reports whether the task is over.
func (o Outcome) Final() bool { return o != OutcomePending && o != "" }

// GaveUp is the outcome of a task whose caller's context ended first: its
// deadline is the caller's timeout, anything else a cancel.
func GaveUp(ctxErr error) Outcome {
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		return OutcomeTimedOut
	}
	return OutcomeCancelled
}

// Settle fixes the outcome of a Reply that came back from a remote engine
// with err: an outcome the far side did not make final becomes not sent,
// or, when ctx ended first, what giving up makes it (the far side may
// still have sent the task).
func (r *Reply) Settle(ctx context.Context, err error) {
	if err != nil && !r.Outcome.Final() {
		r.Outcome = OutcomeNotSent
	}
	if err != nil && ctx.Err() != nil && r.Outcome == OutcomeNotSent {
		r.Outcome = GaveUp(ctx.Err())
	}
}

// KeepLast keeps only the last n records of r, the final one among them,
// counting the others as dropped: a reply cut to fit a response.
func (r Reply) KeepLast(n int) Reply {
	if cut := len(r.Records) - n; cut > 0 {
		r.Dropped += cut
		r.DroppedBytes += RecordsSize(r.Records[:cut])
		r.Records = r.Records[cut:]
	}
	return r
}

// OK reports whether the plugin answered without error.
func (o Outcome) OK() bool { return o == OutcomeAnswered }

// Reply is a task's outcome: every record that carried its token, the final
// status, and the measured round trip (send → final record received).
// SendTask returns a Reply with its Outcome set whether or not it also
// returns an error, so a caller always knows the token and how it ended.
type Reply struct {
	Plugin       string            `json:"plugin"`
	Instance     string            `json:"instance"`
	ID           uint32            `json:"id"`
	Token        string            `json:"token"`
	Outcome      Outcome           `json:"outcome"`
	Records      []protocol.Record `json:"records,omitempty"`
	Dropped      int               `json:"dropped,omitempty"`       // progress records beyond the per-task bounds, not kept
	DroppedBytes int64             `json:"dropped_bytes,omitempty"` // their estimated bytes
	Status       string            `json:"status"`                  // protocol.StatusOK or protocol.StatusError
	Error        string            `json:"error,omitempty"`         // the plugin's error text when Status is error
	RTT          time.Duration     `json:"rtt"`
}

// Stream names where a log line came from.
type Stream string

// The two captured streams.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// LogLine is one captured line of a plugin's output.
type LogLine struct {
	Time     time.Time `json:"time"`
	Instance string    `json:"instance"`
	Stream   Stream    `json:"stream"`
	Text     string    `json:"text"`
}

// EventType says which fields of an Event are set.
type EventType string

// Event types. Records events carry whole frames' batches so a busy plugin
// costs one event per frame, not per record.
const (
	EventState     EventType = "state"     // State, Prev, Reason
	EventLog       EventType = "log"       // Log
	EventRecords   EventType = "records"   // Records
	EventTask      EventType = "task"      // Task: sent (pending), then how it ended
	EventHeartbeat EventType = "heartbeat" // RTT
	EventDropped   EventType = "dropped"   // Dropped: this subscriber lost events
	// The supervisor's own log, as it is written: SupervisorLog, and
	// Plugin and Instance when the line is about one.
	EventSupervisorLog EventType = "supervisor_log"
)

// Event is something that happened, delivered to subscribers.
type Event struct {
	Type     EventType `json:"type"`
	Time     time.Time `json:"time"`
	Plugin   string    `json:"plugin"`
	Instance string    `json:"instance"`
	// Host is set by an API over many hosts, which then qualifies Plugin
	// and Instance as in PluginStatus.
	Host string `json:"host,omitempty"`

	State  State  `json:"state,omitempty"`
	Prev   State  `json:"prev,omitempty"`
	Reason string `json:"reason,omitempty"`
	Exit   *Exit  `json:"exit,omitempty"` // entering exited: how the run ended

	Log     LogLine           `json:"log,omitzero"`
	Records []protocol.Record `json:"records,omitempty"`
	Task    *TaskEvent        `json:"task,omitempty"`
	RTT     time.Duration     `json:"rtt,omitempty"`
	Dropped uint64            `json:"dropped,omitempty"`

	SupervisorLog *SupervisorLog `json:"supervisor_log,omitempty"`

	size int64  // Size, measured once by the engine; 0 until then
	seq  uint64 // the bus's order of publishing, for History's sort
}

// SupervisorLog is one record of the supervisor's own log, its attributes
// flattened to key=value text; message and attributes are bounded
// (MaxSupervisorLogText each), and a cut one ends in "…".
type SupervisorLog struct {
	Level   string `json:"level"` // DEBUG, INFO, WARN or ERROR
	Message string `json:"message"`
	Attrs   string `json:"attrs,omitempty"`
}

// MaxSupervisorLogText bounds a supervisor log record's message and its
// attributes, each.
const MaxSupervisorLogText = 2 << 10

// TaskEvent reports a task twice: when it goes on the wire (Outcome
// pending) and when it ends, keyed by Token either time.
type TaskEvent struct {
	Sent    time.Time `json:"sent"`
	ID      uint32    `json:"id"`
	Token   string    `json:"token"`
	Content string    `json:"content"`
	Outcome Outcome   `json:"outcome"`
	Reply   Reply     `json:"reply"`
	Detail  string    `json:"detail,omitempty"` // for people: the timeout, why the plugin went, …
}

// Errors the API returns; wrapped with the plugin name and detail.
var (
	ErrUnknownPlugin = errors.New("unknown plugin")
	ErrNotRunning    = errors.New("plugin is not running")
	ErrTaskTimeout   = errors.New("task timed out")
	ErrPluginGone    = errors.New("plugin disconnected before replying")
	ErrTooManyTasks  = errors.New("too many tasks in flight")
	ErrClosed        = errors.New("supervisor is shutting down")
	ErrNoReload      = errors.New("no configuration source to reload from")
	ErrNotStarted    = errors.New("supervisor is not running yet")
	ErrRemoved       = errors.New("plugin instance was removed by a reload")
	ErrTokenInUse    = errors.New("task token already in flight")
	ErrBadToken      = errors.New("invalid task token")
)

// Sentinels lists every error above, for faces that carry them across a
// boundary (the control socket gives each a code) and for their tests.
func Sentinels() []error {
	return []error{ErrUnknownPlugin, ErrNotRunning, ErrTaskTimeout, ErrPluginGone, ErrTooManyTasks,
		ErrClosed, ErrNoReload, ErrNotStarted, ErrRemoved, ErrTokenInUse, ErrBadToken}
}
