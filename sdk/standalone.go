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

func (t *standalone) readTasks(r *runner) {
	sc := bufio.NewScanner(t.in)
	sc.Buffer(make([]byte, 0, 64<<10), protocol.DefaultMaxFrame)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		task, err := parseTask(text, line)
		if err != nil {
			fmt.Fprintf(t.errOut, "%s: stdin line %d: %v\n", t.name, line, err)
			continue
		}
		r.tasks.submit(task)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(t.errOut, "%s: stdin line %d: %v; no more tasks are read\n", t.name, line+1, err)
		return
	}
	fmt.Fprintf(t.errOut, "%s: end of stdin: no more tasks; running until stopped\n", t.name)
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

func (t *standalone) write(batch []protocol.Record) error {
	for i := range batch {
		rec := &batch[i]
		if err := t.enc.Encode(stdoutRecord{Timestamp: rec.Timestamp, Token: rec.Token, Fields: rec.Fields}); err != nil {
			return fmt.Errorf("write records to stdout: %w", err)
		}
	}
	if err := t.out.Flush(); err != nil {
		return fmt.Errorf("write records to stdout: %w", err)
	}
	return nil
}

func (t *standalone) bound(time.Time)     {}
func (t *standalone) abort()              {}
func (t *standalone) finish(string, bool) {}

func (t *standalone) lostError(err error) error { return fmt.Errorf("standalone: %w", err) }
