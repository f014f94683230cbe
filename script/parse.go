package script

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// Script is a parsed script: its steps in order.
type Script struct {
	Name  string
	Steps []Step
}

// Step is one line of a script that does something.
type Step interface {
	Where() Pos
	run(ctx context.Context, r *runner) error
}

// Pos is where a step or expectation was written.
type Pos struct {
	File string
	Line int
	Text string // the line as written, without its comment or spaces around it
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Where implements Step for every step type embedding Pos.
func (p Pos) Where() Pos { return p }

// WaitStep waits until every instance called Name is in State; with
// Hosts, on every host the selector picks.
type WaitStep struct {
	Pos
	Hosts   string // a selector of an API over many hosts (see HostPicker); "" for none
	Name    string
	State   supervisor.State
	Timeout time.Duration
}

// SendStep sends Count tasks, Concurrency at a time, at most Rate a second;
// with Hosts, that many to every host the selector picks, at once.
type SendStep struct {
	Pos
	Hosts       string // a selector of an API over many hosts (see HostPicker); "" for none
	Name        string
	ID          uint32
	Content     string
	Count       int
	Rate        float64 // tasks a second; 0 means as fast as replies come
	Concurrency int
	Timeout     time.Duration // per task; 0 leaves the supervisor's task_timeout
	Expect      []Expect      // checked against every reply
}

// Expect checks one field of a reply.
type Expect struct {
	Pos
	Field string
	Op    string // "==", "contains" or "matches"
	Value string
	re    *regexp.Regexp
}

// SleepStep pauses.
type SleepStep struct {
	Pos
	Duration time.Duration
}

// ControlStep starts, stops or restarts a plugin, or reloads the config.
type ControlStep struct {
	Pos
	Verb string // start, stop, restart or reload
	Name string
}

// PingStep measures a round trip to a plugin.
type PingStep struct {
	Pos
	Name    string
	Timeout time.Duration
}

// Defaults of steps' options.
const (
	DefaultWaitTimeout = 30 * time.Second
	DefaultPingTimeout = 5 * time.Second
	maxLine            = 1 << 20
	maxErrors          = 10
)

// MinRate is the slowest rate a send step may ask for, in tasks a second:
// one every 1000s.
const MinRate = 0.001

// Parse reads a script. Every error names the file and line and says what
// was expected; all bad lines are reported (up to ten), not just the first.
func Parse(name string, r io.Reader) (*Script, error) {
	s := &Script{Name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxLine)
	var errs []error
	for n := 1; sc.Scan(); n++ {
		pos := Pos{File: name, Line: n}
		if err := s.parseLine(pos, sc.Text()); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", pos, err))
			if len(errs) == maxErrors {
				errs = append(errs, errors.New("too many errors"))
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func (s *Script) parseLine(pos Pos, line string) error {
	w, end, err := words(line)
	if err != nil || len(w) == 0 {
		return err
	}
	pos.Text = strings.TrimSpace(line[:end])
	verb, args := w[0], w[1:]
	if verb == "expect" {
		return s.parseExpect(pos, args)
	}
	parse := parser(verb)
	if parse == nil {
		return fmt.Errorf("unknown step %q; want one of %s", verb, verbs)
	}
	step, err := parse(pos, args)
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	s.Steps = append(s.Steps, step)
	return nil
}

// parser returns the function that builds a verb's step, or nil.
func parser(verb string) func(Pos, []string) (Step, error) {
	switch verb {
	case "wait":
		return parseWait
	case "send":
		return parseSend
	case "sleep":
		return parseSleep
	case "start", "stop", "restart":
		return parseControl(verb)
	case "reload":
		return parseReload
	case "ping":
		return parsePing
	}
	return nil
}

const verbs = "wait, send, expect, sleep, start, stop, restart, reload, ping"

// Usage lines, quoted in errors so that a mistake shows the right form.
const (
	waitUsage   = "wait [SELECTOR] NAME STATE [timeout D]"
	sendUsage   = "send [SELECTOR] NAME ID CONTENT [count N] [rate N/s] [concurrency N] [timeout D]"
	expectUsage = `expect FIELD == "TEXT" | expect FIELD contains "TEXT" | expect FIELD matches "REGEXP"`
	pingUsage   = "ping NAME [timeout D]"
)

func states() []supervisor.State {
	return []supervisor.State{
		supervisor.StateStopped, supervisor.StateStarting, supervisor.StateRunning, supervisor.StateStopping,
		supervisor.StateExited, supervisor.StateBackoff, supervisor.StateFailed,
	}
}

func parseWait(pos Pos, args []string) (Step, error) {
	hosts, args := selectorArg(args)
	if len(args) < 2 {
		return nil, fmt.Errorf("want %q, got %d arguments", waitUsage, len(args))
	}
	st := &WaitStep{Pos: pos, Hosts: hosts, Name: args[0], State: supervisor.State(args[1]), Timeout: DefaultWaitTimeout}
	if !slices.Contains(states(), st.State) {
		return nil, fmt.Errorf("unknown state %q; want one of %v", args[1], states())
	}
	err := options(args[2:], waitUsage, map[string]func(string) error{
		"timeout": durationOpt(&st.Timeout),
	})
	return st, err
}

// selectorArg takes a leading host selector off a step's arguments: one
// with '=' or the word '*', which no plugin name can be (names are
// letters, digits, '_' and '-'), so scripts without one read as before.
func selectorArg(args []string) (string, []string) {
	if len(args) > 0 && (args[0] == "*" || strings.Contains(args[0], "=")) {
		return args[0], args[1:]
	}
	return "", args
}

func parseSend(pos Pos, args []string) (Step, error) {
	hosts, args := selectorArg(args)
	if len(args) < 3 {
		return nil, fmt.Errorf("want %q, got %d arguments", sendUsage, len(args))
	}
	id, err := strconv.ParseUint(args[1], 10, 32)
	if err != nil {
		return nil, fmt.Errorf("task id %q: want a number from 0 to %d", args[1], uint32(math.MaxUint32))
	}
	st := &SendStep{Pos: pos, Hosts: hosts, Name: args[0], ID: uint32(id), Content: args[2], Count: 1, Concurrency: 1}
	err = options(args[3:], sendUsage, map[string]func(string) error{
		"count":       positiveOpt(&st.Count),
		"concurrency": positiveOpt(&st.Concurrency),
		"timeout":     durationOpt(&st.Timeout),
		"rate": func(v string) error {
			n, err := strconv.ParseFloat(strings.TrimSuffix(v, "/s"), 64)
			if err != nil || !(n >= MinRate) || math.IsInf(n, 0) {
				return fmt.Errorf("rate %q: want a positive number of tasks a second, like 500/s, from %g up", v, MinRate)
			}
			st.Rate = n
			return nil
		},
	})
	return st, err
}

func (s *Script) parseExpect(pos Pos, args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("expect: want %s, got %d arguments", expectUsage, len(args))
	}
	var send *SendStep
	if n := len(s.Steps); n > 0 {
		send, _ = s.Steps[n-1].(*SendStep)
	}
	if send == nil {
		return errors.New("expect: must follow a send (it checks that send's replies)")
	}
	e := Expect{Pos: pos, Field: args[0], Op: args[1], Value: args[2]}
	switch e.Op {
	case "==", "contains":
	case "matches":
		re, err := regexp.Compile(e.Value)
		if err != nil {
			return fmt.Errorf("expect: %w", err)
		}
		e.re = re
	default:
		return fmt.Errorf("expect: unknown comparison %q; want ==, contains or matches", e.Op)
	}
	send.Expect = append(send.Expect, e)
	return nil
}

func parseSleep(pos Pos, args []string) (Step, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf(`want "sleep D", got %d arguments`, len(args))
	}
	st := &SleepStep{Pos: pos}
	return st, durationOpt(&st.Duration)(args[0])
}

func parseControl(verb string) func(Pos, []string) (Step, error) {
	return func(pos Pos, args []string) (Step, error) {
		if len(args) != 1 {
			return nil, fmt.Errorf(`want "%s NAME", got %d arguments`, verb, len(args))
		}
		return &ControlStep{Pos: pos, Verb: verb, Name: args[0]}, nil
	}
}

func parseReload(pos Pos, args []string) (Step, error) {
	if len(args) != 0 {
		return nil, fmt.Errorf(`want "reload", got %d arguments`, len(args))
	}
	return &ControlStep{Pos: pos, Verb: "reload"}, nil
}

func parsePing(pos Pos, args []string) (Step, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("want %q, got no arguments", pingUsage)
	}
	st := &PingStep{Pos: pos, Name: args[0], Timeout: DefaultPingTimeout}
	return st, options(args[1:], pingUsage, map[string]func(string) error{"timeout": durationOpt(&st.Timeout)})
}

// options reads "key value" pairs, each key at most once.
func options(args []string, usage string, set map[string]func(string) error) error {
	seen := map[string]bool{}
	for i := 0; i < len(args); i += 2 {
		key := args[i]
		fn, ok := set[key]
		switch {
		case !ok:
			return fmt.Errorf("unknown option %q; want %q", key, usage)
		case seen[key]:
			return fmt.Errorf("option %q given twice", key)
		case i+1 == len(args):
			return fmt.Errorf("option %q needs a value; want %q", key, usage)
		}
		seen[key] = true
		if err := fn(args[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func durationOpt(d *time.Duration) func(string) error {
	return func(v string) error {
		x, err := time.ParseDuration(v)
		if err != nil || x <= 0 {
			return fmt.Errorf("duration %q: want a positive Go duration, like 500ms or 2s", v)
		}
		*d = x
		return nil
	}
}

func positiveOpt(n *int) func(string) error {
	return func(v string) error {
		x, err := strconv.Atoi(v)
		if err != nil || x <= 0 {
			return fmt.Errorf("%q: want a positive whole number", v)
		}
		*n = x
		return nil
	}
}
