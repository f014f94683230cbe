package sdk

import (
	"errors"
	"flag"
	"fmt"

	"github.com/plugvisor/plugvisor/protocol"
)

// ErrShutdown is returned by Sink methods once the session has begun to shut
// down: nothing sent after that point would reach the supervisor in order.
var ErrShutdown = errors.New("sdk: session is shutting down")

// ErrInvalidRecord wraps every refusal of a record before it is queued. The
// supervisor drops a whole connection over one invalid record, so the SDK
// refuses it locally and tells the caller instead.
var ErrInvalidRecord = errors.New("invalid record")

// Exit codes used by Exit and Main. The supervisor's restart policy can read
// them: ExitRejected means retrying cannot help until the config changes.
const (
	ExitOK       = 0 // Run finished, or shutdown completed cleanly
	ExitError    = 1 // Run returned an error, overstayed its grace, or setup failed
	ExitUsage    = 2 // bad command-line arguments (*UsageError)
	ExitRejected = 3 // the supervisor rejected the hello (*RejectedError)
	ExitConnLost = 4 // the connection to the supervisor was lost (*ConnLostError)
	ExitPanic    = 5 // Run panicked (*PanicError)
)

// RejectedError is the supervisor refusing this plugin's hello.
type RejectedError struct {
	Code     protocol.RejectCode
	Reason   string
	Versions []uint16 // the protocol versions the supervisor speaks
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("rejected by the supervisor (%s): %s", e.Code, e.Reason)
}

// ConnLostError means the supervisor went away: the socket closed, a read or
// write failed, or nothing arrived for several heartbeats.
type ConnLostError struct {
	Err error
}

func (e *ConnLostError) Error() string { return "connection to the supervisor lost: " + e.Err.Error() }
func (e *ConnLostError) Unwrap() error { return e.Err }

// PanicError is a panic recovered from the plugin's Run.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// UsageError is a problem with the plugin's command-line arguments.
type UsageError struct {
	Err error
}

func (e *UsageError) Error() string { return "usage: " + e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// ExitCode maps an error returned by Run (or by a plugin's own Main) to the
// documented exit codes. flag.ErrHelp maps to ExitOK: asking for help is not a
// failure.
func ExitCode(err error) int {
	var (
		rejected *RejectedError
		lost     *ConnLostError
		panicked *PanicError
		usage    *UsageError
	)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &rejected):
		return ExitRejected
	case errors.As(err, &lost):
		return ExitConnLost
	case errors.As(err, &panicked):
		return ExitPanic
	case errors.As(err, &usage):
		return ExitUsage
	}
	return ExitError
}
