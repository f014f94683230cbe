package protocol

import "fmt"

// ErrorCode classifies a protocol error. It is itself an error so callers can
// test with errors.Is(err, protocol.ErrFrameTooLarge) without any package-level
// variables.
type ErrorCode int

// The ways a frame can be wrong. Each ends the connection it arrived on and
// nothing else.
const (
	ErrZeroLength    ErrorCode = iota + 1 // the length prefix is 0
	ErrFrameTooLarge                      // the length prefix exceeds the connection's limit
	ErrTruncated                          // the stream ended inside a frame
	ErrMalformed                          // the payload is not the msgpack the message needs
	ErrUnknownKind                        // the message kind is not one this version defines
	ErrMissingField                       // a required field is absent
)

var codeText = [...]string{
	ErrZeroLength:    "zero-length frame",
	ErrFrameTooLarge: "frame too large",
	ErrTruncated:     "truncated frame",
	ErrMalformed:     "malformed message",
	ErrUnknownKind:   "unknown message kind",
	ErrMissingField:  "missing required field",
}

func (c ErrorCode) Error() string {
	if c > 0 && int(c) < len(codeText) {
		return codeText[c]
	}
	return fmt.Sprintf("protocol error %d", int(c))
}

// Error is a protocol violation: what was wrong (Code), in which message kind
// and field when known, and the detail a person needs to find it.
type Error struct {
	Code   ErrorCode
	Kind   Kind   // message kind, when known
	Field  string // dotted field path, e.g. "records[3].fields.data_type"
	Detail string
}

func (e *Error) Error() string {
	s := "protocol: " + e.Code.Error()
	if e.Kind != "" {
		s += ": " + string(e.Kind)
	}
	if e.Field != "" {
		s += ": field " + e.Field
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap lets errors.Is match the ErrorCode.
func (e *Error) Unwrap() error { return e.Code }

func errorf(code ErrorCode, kind Kind, field, format string, args ...any) *Error {
	return &Error{Code: code, Kind: kind, Field: field, Detail: fmt.Sprintf(format, args...)}
}
