package sdk

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/plugvisor/plugvisor/protocol"
)

// Sink sends records to the supervisor (or, standalone, to stdout). It is a
// small value: copy it into callbacks and goroutines freely; all copies share
// one queue and every method is safe for concurrent use.
//
// Records are queued and sent by one writer in as few frames as the queue
// allows; a task's Progress or Reply made while nothing is queued or being
// written is written at once by the calling goroutine instead (the call
// returns once it is on the socket), still after every record sent before
// it. When the queue is full (by record count or by bytes, see
// WithQueueSize and WithQueueBytes) the methods block until there is room or
// the queue stops taking them. Once shutdown has begun Emit and EmitAt return
// ErrShutdown; a task's Progress and Reply are still taken while the task
// handlers have time to finish (see Run), so a task in flight can answer.
type Sink struct {
	q *queue
}

// Stats counts what went through a Sink.
type Stats struct {
	Emitted uint64 // records accepted (including task replies)
	Sent    uint64 // records written to the supervisor or stdout
	Batches uint64 // frames (or stdout writes) that carried them
	Queued  int    // records waiting to be written
}

var errZeroSink = errors.New("sdk: zero Sink: use the one given to Run or a handler")

// Emit sends a record stamped with the current time: the wall clock as
// read at most 10 ms before, plus the monotonic time elapsed since.
func (s Sink) Emit(fields Fields) error { return s.EmitAt(time.Time{}, fields) }

// EmitAt sends a record observed at t (the current time if t is zero).
func (s Sink) EmitAt(t time.Time, fields Fields) error {
	if err := refuseStatus(fields, "Emit"); err != nil {
		return err
	}
	var timestamp int64
	switch {
	case !t.IsZero():
		timestamp = t.UnixNano()
	case s.q == nil:
		return errZeroSink
	default:
		timestamp = s.q.stamps.now()
	}
	it, err := s.buildAt("", timestamp, fields, "")
	if err != nil {
		return err
	}
	return s.q.send(it)
}

// Reply sends t's final answer with task_status ok. A task gets one final
// answer: a second Reply, or a Reply after the handler returned, is an error.
func (s Sink) Reply(t Task, fields Fields) error {
	if err := checkTask(t); err != nil {
		return err
	}
	if err := refuseStatus(fields, "Reply"); err != nil {
		return err
	}
	it, err := s.build(t.Token, time.Time{}, fields, protocol.StatusOK)
	if err != nil {
		return err
	}
	if !t.state.answered.CompareAndSwap(false, true) {
		return fmt.Errorf("sdk: task %d (token %s) already has its final reply", t.ID, t.Token)
	}
	return s.q.send(it)
}

// Progress sends an intermediate record for t; it must come before the
// final Reply.
func (s Sink) Progress(t Task, fields Fields) error {
	if err := checkTask(t); err != nil {
		return err
	}
	if err := refuseStatus(fields, "Progress"); err != nil {
		return err
	}
	if t.state.answered.Load() {
		return fmt.Errorf("sdk: task %d (token %s) already has its final reply", t.ID, t.Token)
	}
	it, err := s.build(t.Token, time.Time{}, fields, "")
	if err != nil {
		return err
	}
	return s.q.send(it)
}

// Flush waits until every record accepted before the call has been written,
// for example before a plugin exits on purpose.
func (s Sink) Flush(ctx context.Context) error {
	if s.q == nil {
		return errZeroSink
	}
	return s.q.flush(ctx)
}

// Stats returns the sink's counters.
func (s Sink) Stats() Stats {
	if s.q == nil {
		return Stats{}
	}
	pushed, sent, batches, queued := s.q.stats()
	return Stats{Emitted: pushed, Sent: sent, Batches: batches, Queued: queued}
}

// truncatedMark ends an error text cut to fit a frame.
const truncatedMark = "…(truncated)"

// errorReply builds the SDK's task_error reply for token, cutting text so
// the record fits in a frame: a reply that cannot be sent would leave the
// task unanswered.
func (s Sink) errorReply(token, text string) (item, error) {
	if s.q == nil {
		return item{}, errZeroSink
	}
	fields := Fields{protocol.FieldDataType: typeTaskError, protocol.FieldError: ""}
	empty, err := s.build(token, time.Time{}, fields, protocol.StatusError)
	if err != nil {
		return item{}, err
	}
	// The empty text has a 1-byte string header; a long one takes up to 5.
	room := s.q.maxRecord() - empty.size() - 4
	fields[protocol.FieldError] = fitText(text, room)
	return s.build(token, time.Time{}, fields, protocol.StatusError)
}

// fitText returns text if it has at most room bytes, else its longest prefix
// (cut at a character boundary) that fits with truncatedMark after it.
func fitText(text string, room int) string {
	if len(text) <= room {
		return text
	}
	mark := truncatedMark
	if room < len(mark) {
		mark = ""
	}
	cut := max(room-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + mark
}

// build validates fields and encodes them, so the caller may reuse its map
// as soon as the call returns.
func (s Sink) build(token string, t time.Time, fields Fields, status protocol.Status) (item, error) {
	if s.q == nil {
		return item{}, errZeroSink
	}
	if t.IsZero() {
		return s.buildAt(token, s.q.stamps.now(), fields, status)
	}
	return s.buildAt(token, t.UnixNano(), fields, status)
}

// buildAt is build for a timestamp in nanoseconds since the epoch.
func (s Sink) buildAt(token string, timestamp int64, fields Fields, status protocol.Status) (item, error) {
	if s.q == nil {
		return item{}, errZeroSink
	}
	if len(fields)+1 > protocol.MaxFieldsPerRecord { // +1: task_status may be added
		return item{}, refuseFields(fields)
	}
	// The encoder checks data_type too: the SDK's own words for a missing
	// one are looked for only once it refused the record, so a good record
	// looks it up once.
	rec, err := s.q.encode(timestamp, token, fields, status)
	if err != nil {
		if fields[protocol.FieldDataType] == "" {
			return item{}, refuseFields(fields)
		}
		return item{}, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	it := item{rec: rec, task: token != ""}
	if it.size() > s.q.maxRecord() {
		return item{}, fmt.Errorf("%w: %d bytes (data_type %q) exceed the %d bytes a frame can carry", ErrInvalidRecord, it.size(), fields[protocol.FieldDataType], s.q.maxRecord())
	}
	return it, nil
}

// refuseFields says what is wrong with fields that cannot be a record: no
// data_type first, then too many fields.
func refuseFields(fields Fields) error {
	if fields[protocol.FieldDataType] == "" {
		return fmt.Errorf("%w: the %q field is missing or empty; every record needs one", ErrInvalidRecord, protocol.FieldDataType)
	}
	return fmt.Errorf("%w: %d fields (data_type %q); a record carries at most %d", ErrInvalidRecord, len(fields), fields[protocol.FieldDataType], protocol.MaxFieldsPerRecord-1)
}

// refuseStatus keeps task_status to the SDK: on a progress record it would end
// the task early, on a plain record it means nothing and misleads, and a Reply
// is ok by definition (a handler fails a task by returning an error).
func refuseStatus(fields Fields, method string) error {
	if _, ok := fields[protocol.FieldTaskStatus]; ok {
		return fmt.Errorf("%w: %s records must not set %q; the SDK sets it on the final Reply", ErrInvalidRecord, method, protocol.FieldTaskStatus)
	}
	return nil
}

func checkTask(t Task) error {
	if t.state == nil || t.Token == "" {
		return fmt.Errorf("sdk: task %d was not received by this session (no token)", t.ID)
	}
	return nil
}
