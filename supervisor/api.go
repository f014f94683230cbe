package supervisor

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// API is the operator's contract with the engine. *Supervisor implements it
// in process; the control-socket client implements it remotely, so every face
// (console, headless, scripts) works the same against either.
//
// A name is a plugin name (meaning all of its instances) or an instance id.
type API interface {
	Snapshot() []PluginStatus
	Start(name string) error
	Stop(name string) error
	Restart(name string) error
	Reload() error
	SendTask(ctx context.Context, name string, id uint32, content string) (Reply, error)
	Ping(ctx context.Context, name string) (time.Duration, error)
	Logs(name string, n int) ([]LogLine, error)
	Subscribe(buffer int) (events <-chan Event, cancel func())
	Info() Info
}

// Info describes the supervisor an API talks to.
type Info struct {
	Name          string    `json:"name"`
	Host          string    `json:"host"`
	PID           int       `json:"pid"`
	Started       time.Time `json:"started"`
	Socket        string    `json:"socket"`
	ControlSocket string    `json:"control_socket"`
	ConfigFiles   []string  `json:"config_files"`
	DroppedEvents uint64    `json:"dropped_events"` // events lost by slow subscribers, all told
}

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

	LastHeartbeat time.Time     `json:"last_heartbeat"`
	HeartbeatRTT  time.Duration `json:"heartbeat_rtt"`
	RTTp50        time.Duration `json:"rtt_p50"` // task round trips
	RTTp99        time.Duration `json:"rtt_p99"`
	InFlight      int           `json:"in_flight"`
	RecordsPerSec float64       `json:"records_per_sec"`
	CPUPercent    float64       `json:"cpu_percent"` // whole process group, percent of one core
	RSS           int64         `json:"rss"`         // whole process group, bytes
	NextStart     time.Time     `json:"next_start"`  // in backoff: when the next attempt is due
	Counters
}

// Uptime is how long the current process has been running.
func (p PluginStatus) Uptime(now time.Time) time.Duration {
	if p.Started.IsZero() || (p.State != StateRunning && p.State != StateStarting) {
		return 0
	}
	return now.Sub(p.Started)
}

// Reply is a task's outcome: every record that carried its token, the final
// status, and the measured round trip (send → final record received).
type Reply struct {
	Plugin   string            `json:"plugin"`
	Instance string            `json:"instance"`
	ID       uint32            `json:"id"`
	Token    string            `json:"token"`
	Records  []protocol.Record `json:"records,omitempty"`
	Dropped  int               `json:"dropped,omitempty"` // progress records beyond the per-task bound, not kept
	Status   string            `json:"status"`            // protocol.StatusOK or protocol.StatusError
	Error    string            `json:"error,omitempty"`   // the plugin's error text when Status is error
	RTT      time.Duration     `json:"rtt"`
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
	EventTask      EventType = "task"      // Task (a finished round trip, or a failure)
	EventHeartbeat EventType = "heartbeat" // RTT
	EventDropped   EventType = "dropped"   // Dropped: this subscriber lost events
)

// Event is something that happened, delivered to subscribers.
type Event struct {
	Type     EventType `json:"type"`
	Time     time.Time `json:"time"`
	Plugin   string    `json:"plugin"`
	Instance string    `json:"instance"`

	State  State  `json:"state,omitempty"`
	Prev   State  `json:"prev,omitempty"`
	Reason string `json:"reason,omitempty"`

	Log     LogLine           `json:"log,omitzero"`
	Records []protocol.Record `json:"records,omitempty"`
	Task    *TaskEvent        `json:"task,omitempty"`
	RTT     time.Duration     `json:"rtt,omitempty"`
	Dropped uint64            `json:"dropped,omitempty"`
}

// TaskEvent reports a task: its reply when it finished, or the error.
type TaskEvent struct {
	Sent    time.Time `json:"sent"`
	ID      uint32    `json:"id"`
	Token   string    `json:"token"`
	Content string    `json:"content"`
	Reply   Reply     `json:"reply"`
	Err     string    `json:"err,omitempty"` // timeout, plugin gone, …
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
)
