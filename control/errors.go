package control

import (
	"context"
	"errors"

	"github.com/plugvisor/plugvisor/supervisor"
)

// Code classifies an error response so that a client can act on it without
// parsing text.
type Code string

// Error codes of control protocol version 1.
const (
	CodeUnknownPlugin    Code = "unknown_plugin"    // supervisor.ErrUnknownPlugin
	CodeNotRunning       Code = "not_running"       // supervisor.ErrNotRunning
	CodeTaskTimeout      Code = "task_timeout"      // supervisor.ErrTaskTimeout
	CodePluginGone       Code = "plugin_gone"       // supervisor.ErrPluginGone
	CodeTooManyTasks     Code = "too_many_tasks"    // supervisor.ErrTooManyTasks
	CodeClosed           Code = "closed"            // supervisor.ErrClosed
	CodeNoReload         Code = "no_reload"         // supervisor.ErrNoReload
	CodeNotStarted       Code = "not_started"       // supervisor.ErrNotStarted
	CodeRemoved          Code = "removed"           // supervisor.ErrRemoved
	CodeTokenInUse       Code = "token_in_use"      // supervisor.ErrTokenInUse
	CodeBadToken         Code = "bad_token"         // supervisor.ErrBadToken
	CodeDeadline         Code = "deadline_exceeded" // the request's timeout passed
	CodeCanceled         Code = "canceled"          // the request was cancelled
	CodeTooManyRequests  Code = "too_many_requests" // the connection's bound on requests in flight
	CodeBadRequest       Code = "bad_request"       // a missing or invalid argument, a reused id
	CodeUnknownOp        Code = "unknown_op"        // an op this server does not know
	CodeResultTooLarge   Code = "result_too_large"  // the result would exceed the frame limit
	CodeVersion          Code = "no_common_version" // hello: no version both sides speak
	CodePermissionDenied Code = "permission_denied" // the peer is not our user
	CodeProtocol         Code = "protocol"          // a bad frame; the server closes the connection
	CodeIdle             Code = "idle"              // no hello in time, or idle too long; the server closes the connection
	CodeInternal         Code = "internal"          // anything else
)

// Error is an error response: a code and the server's message.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Unwrap maps the code back to the engine's or the context package's
// sentinel, so errors.Is works the same on both sides of the socket.
func (e *Error) Unwrap() error {
	for _, s := range sentinels {
		if s.code == e.Code {
			return s.err
		}
	}
	switch e.Code {
	case CodeTooManyRequests:
		return ErrTooManyRequests
	case CodePermissionDenied:
		return ErrPermission
	}
	return nil
}

// Errors of the control layer itself.
var (
	ErrTooManyRequests = errors.New("too many requests in flight")
	ErrPermission      = errors.New("permission denied")
	ErrConnClosed      = errors.New("control connection closed")
)

var sentinels = []struct {
	code Code
	err  error
}{
	{CodeUnknownPlugin, supervisor.ErrUnknownPlugin},
	{CodeNotRunning, supervisor.ErrNotRunning},
	{CodeTaskTimeout, supervisor.ErrTaskTimeout},
	{CodePluginGone, supervisor.ErrPluginGone},
	{CodeTooManyTasks, supervisor.ErrTooManyTasks},
	{CodeClosed, supervisor.ErrClosed},
	{CodeNoReload, supervisor.ErrNoReload},
	{CodeNotStarted, supervisor.ErrNotStarted},
	{CodeRemoved, supervisor.ErrRemoved},
	{CodeTokenInUse, supervisor.ErrTokenInUse},
	{CodeBadToken, supervisor.ErrBadToken},
	{CodeDeadline, context.DeadlineExceeded},
	{CodeCanceled, context.Canceled},
}

// WireError turns an API error into an error response: the one mapping
// of errors to codes every transport of the API shares.
func WireError(err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return &Error{Code: s.code, Message: err.Error()}
		}
	}
	return &Error{Code: CodeInternal, Message: err.Error()}
}
