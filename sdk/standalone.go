package sdk

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// stdinTask is one task line; unknown keys are refused so a typo is reported
// rather than silently dropped.
type stdinTask struct {
	ID      *uint32 `json:"id"`
	Content string  `json:"content"`
	Token   string  `json:"token"`
}

// stdoutRecord is one output line.
type stdoutRecord struct {
	Timestamp int64             `json:"timestamp"`
	Token     string            `json:"token,omitempty"`
	Fields    map[string]string `json:"fields"`
}

func runStandalone(ctx context.Context, p Plugin, sess *Session, router Router, o options) error {
	sess.standalone = true
	fmt.Fprintf(o.stderr, "%s: running standalone (%s is not set): records go to stdout as JSON lines; tasks are read from stdin as JSON lines like {\"id\":1,\"content\":\"hi\"}; stop with Ctrl-C\n",
		sess.name, protocol.EnvSocket)
	out := bufio.NewWriter(o.stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false) // records are read by people and scripts, not browsers
	tr := &standalone{name: sess.name, in: o.stdin, out: out, enc: enc, errOut: o.stderr}
	return newRunner(p, o, sess, router, protocol.DefaultMaxFrame, tr).run(ctx)
}

type standalone struct {
	name   string
	in     io.Reader
	out    *bufio.Writer // out and enc: only the writer goroutine touches them
	enc    *json.Encoder
	errOut io.Writer
}

// start reads tasks in a goroutine that is left behind at the end: a read
// from a terminal cannot be interrupted portably, and the process is about to
// exit anyway.
func (t *standalone) start(r *runner) { go t.readTasks(r) }

// maxStdinLine is the longest task line read; a longer one is skipped.
const maxStdinLine = protocol.DefaultMaxFrame

func (t *standalone) readTasks(r *runner) {
	br := bufio.NewReaderSize(t.in, 64<<10)
	var buf []byte
	for line := 1; ; line++ {
		text, tooLong, err := readLine(br, buf[:0], maxStdinLine)
		if cap(text) <= 64<<10 {
			buf = text // reuse small buffers; let a rare huge one go
		}
		if tooLong {
			fmt.Fprintf(t.errOut, "%s: stdin line %d: longer than %d bytes; skipped\n", t.name, line, maxStdinLine)
		} else if text := bytes.TrimSpace(text); len(text) > 0 {
			task, perr := parseTask(text, line)
			if perr != nil {
				fmt.Fprintf(t.errOut, "%s: stdin line %d: %v\n", t.name, line, perr)
			} else {
				r.tasks.submit(task)
			}
		}
		switch {
		case err == io.EOF:
			fmt.Fprintf(t.errOut, "%s: end of stdin: no more tasks; running until stopped\n", t.name)
			return
		case err != nil:
			fmt.Fprintf(t.errOut, "%s: stdin line %d: %v; no more tasks are read\n", t.name, line, err)
			return
		}
	}
}

// readLine appends the next line of br (without its newline) to dst. A line
// longer than limit is read to its end and discarded: tooLong is set and the
// line returned empty. err is io.EOF after the last line.
func readLine(br *bufio.Reader, dst []byte, limit int) (line []byte, tooLong bool, err error) {
	for {
		frag, err := br.ReadSlice('\n')
		if !tooLong {
			if dst = append(dst, frag...); len(dst) > limit+1 {
				tooLong, dst = true, dst[:0]
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if !tooLong {
			dst = bytes.TrimSuffix(dst, []byte("\n"))
			if len(dst) > limit {
				tooLong, dst = true, dst[:0]
			}
		}
		return dst, tooLong, err
	}
}

func parseTask(text []byte, line int) (Task, error) {
	var st stdinTask
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	err := dec.Decode(&st)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value on the line")
	}
	if err == nil && st.ID == nil {
		err = errors.New(`missing "id"`)
	}
	if err != nil {
		return Task{}, fmt.Errorf(`invalid task: %v; expected {"id":1,"content":"hi"}`, err)
	}
	return newTask(*st.ID, st.Content, cmp.Or(st.Token, fmt.Sprintf("stdin-%d", line))), nil
}

// write turns the records back into fields by decoding them as the
// supervisor would: standalone output is for people, not speed.
func (t *standalone) write(batch []protocol.EncodedRecord) error {
	payload, err := protocol.Append(nil, &protocol.EncodedData{Records: batch})
	if err != nil {
		return fmt.Errorf("write records to stdout: %w", err)
	}
	m, err := protocol.Decode(payload)
	if err != nil {
		return fmt.Errorf("write records to stdout: %w", err)
	}
	recs := m.(*protocol.Data).Records
	for i := range recs {
		rec := &recs[i]
		if err := t.enc.Encode(stdoutRecord{Timestamp: rec.Timestamp, Token: rec.Token, Fields: rec.Fields}); err != nil {
			return fmt.Errorf("write records to stdout: %w", err)
		}
	}
	if err := t.out.Flush(); err != nil {
		return fmt.Errorf("write records to stdout: %w", err)
	}
	return nil
}

// direct is false: a stdout that stalls (a paused pager) would hold the
// sender, where a queued record leaves it free until the queue fills.
func (t *standalone) direct() bool { return false }

// bound cannot interrupt a write to stdout; the runner stops waiting for
// the writer at the deadline instead.
func (t *standalone) bound(time.Time)     {}
func (t *standalone) abort()              {}
func (t *standalone) finish(string, bool) {}

func (t *standalone) lostError(err error) error { return fmt.Errorf("standalone: %w", err) }
