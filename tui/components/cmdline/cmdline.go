// Package cmdline is the ':' command line: parsing commands such as ":send echo 1 hello" and completing their words.
package cmdline

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/tui/components/input"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/keys"
	"github.com/plugvisor/plugvisor/tui/render"
)

// Command is a parsed command line.
type Command struct {
	Verb    string // send, start, stop, restart, ping, theme, sort, filter, export, reload, quit, help
	Name    string // plugin name or instance id; the theme for "theme"; the column for "sort"; json or csv for "export"
	ID      uint32
	Content string // the task's content; the direction for "sort"; the filter for "filter"
}

// verbs lists the commands with what their first argument completes to.
var verbs = []struct {
	name, arg, usage string
}{
	{"send", "plugin", "send NAME ID CONTENT"},
	{"start", "plugin", "start NAME"},
	{"stop", "plugin", "stop NAME"},
	{"restart", "plugin", "restart NAME"},
	{"ping", "plugin", "ping NAME"},
	{"theme", "theme", "theme NAME"},
	{"sort", "column", "sort COLUMN [asc|desc]"},
	{"filter", "", "filter [TEXT | KEY=VALUE,KEY=VALUE]"},
	{"export", "format", "export json|csv PATH"},
	{"reload", "", "reload"},
	{"help", "", "help"},
	{"messages", "", "messages"},
	{"quit", "", "quit"},
}

// Usage lists every command, for the help view.
func Usage() []string {
	out := make([]string, len(verbs))
	for i, v := range verbs {
		out[i] = ":" + v.usage
	}
	return out
}

// Parse reads a command line (without the leading ':').
func Parse(line string) (Command, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return Command{}, fmt.Errorf("empty command")
	}
	verb := fields[0]
	if verb == "q" {
		verb = "quit"
	}
	i := slices.IndexFunc(verbs, func(v struct{ name, arg, usage string }) bool { return v.name == verb })
	if i < 0 {
		return Command{}, fmt.Errorf("unknown command %q (commands: %s)", fields[0], strings.Join(names(), ", "))
	}
	v := verbs[i]
	c := Command{Verb: verb}
	switch {
	case verb == "send":
		if len(fields) < 3 {
			return c, fmt.Errorf("usage: :%s", v.usage)
		}
		id, err := strconv.ParseUint(fields[2], 10, 32)
		if err != nil {
			return c, fmt.Errorf("send: task id must be a number, not %q", fields[2])
		}
		c.Name, c.ID = fields[1], uint32(id)
		c.Content = restAfter(line, 3)
	case verb == "sort": // the direction, if given, in Content
		if len(fields) < 2 || len(fields) > 3 {
			return c, fmt.Errorf("usage: :%s", v.usage)
		}
		c.Name, c.Content = fields[1], restAfter(line, 2)
	case verb == "filter": // the table's filter, as / takes it; none clears it
		c.Content = restAfter(line, 1)
	case verb == "export":
		if len(fields) < 3 || (fields[1] != "json" && fields[1] != "csv") {
			return c, fmt.Errorf("usage: :%s", v.usage)
		}
		c.Name, c.Content = fields[1], restAfter(line, 2)
	case v.arg != "":
		if len(fields) != 2 {
			return c, fmt.Errorf("usage: :%s", v.usage)
		}
		c.Name = fields[1]
	case len(fields) > 1:
		return c, fmt.Errorf("usage: :%s", v.usage)
	}
	return c, nil
}

// restAfter is line from its n-th word on, spacing kept.
func restAfter(line string, n int) string {
	s := strings.TrimLeft(line, " ")
	for range n {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return ""
		}
		s = strings.TrimLeft(s[i:], " ")
	}
	return s
}

func names() []string {
	out := make([]string, len(verbs))
	for i, v := range verbs {
		out[i] = v.name
	}
	return out
}

// Complete extends the word being typed: commands first, then plugin or
// theme names. It returns the new line and, when the word is ambiguous, the
// candidates to show.
func Complete(line string, plugins, themes []string) (string, []string) {
	fields := strings.Fields(line)
	trailing := strings.HasSuffix(line, " ")
	var word string
	var pool []string
	switch {
	case len(fields) == 0 || (len(fields) == 1 && !trailing):
		if len(fields) == 1 {
			word = fields[0]
		}
		pool = names()
	case (len(fields) == 1 && trailing) || (len(fields) == 2 && !trailing):
		if len(fields) == 2 {
			word = fields[1]
		}
		switch argOf(fields[0]) {
		case "plugin":
			pool = plugins
		case "theme":
			pool = themes
		case "format":
			pool = []string{"csv", "json"}
		}
	}
	var matches []string
	for _, p := range pool {
		if strings.HasPrefix(p, word) {
			matches = append(matches, p)
		}
	}
	if len(matches) == 0 {
		return line, nil
	}
	head := strings.TrimSuffix(line, word)
	if len(matches) == 1 {
		return head + matches[0] + " ", nil
	}
	return head + commonPrefix(matches), matches
}

func argOf(verb string) string {
	for _, v := range verbs {
		if v.name == verb {
			return v.arg
		}
	}
	return ""
}

func commonPrefix(ss []string) string {
	p := ss[0]
	for _, s := range ss[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}

// Model is the open command line.
type Model struct {
	in         input.Model
	candidates []string
	hist       *History // nil: none
	walk       walk
}

// New opens an empty command line that keeps what it runs in hist (which
// may be nil).
func New(hist *History) *Model {
	m := &Model{in: input.New(":", "send echo 1 hello · stop NAME · theme light · tab completes · ↑ history"), hist: hist}
	m.in.Focus()
	return m
}

// Result is what a key did.
type Result int

// Results.
const (
	Editing Result = iota
	Run
	Cancel
)

// Update handles a message; plugins and themes feed completion.
func (m *Model) Update(msg tea.Msg, plugins, themes []string) Result {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "esc", "ctrl+c":
			return Cancel
		case "enter":
			if m.hist != nil {
				m.hist.Add(strings.TrimSpace(m.in.Value()))
			}
			return Run
		case "up", "down":
			d := 1
			if k.String() == "down" {
				d = -1
			}
			if line, ok := m.walk.step(m.hist, m.in.Value(), d); ok {
				m.in.SetValue(line)
				m.candidates = nil
			}
			return Editing
		case "tab":
			line, cands := Complete(m.in.Value(), plugins, themes)
			m.in.SetValue(line)
			m.candidates = cands
			return Editing
		case "backspace":
			if m.in.Value() == "" {
				return Cancel
			}
		}
	}
	if m.in.Update(msg) {
		m.candidates = nil
	}
	return Editing
}

// Value is the line typed.
func (m *Model) Value() string { return m.in.Value() }

// Help lists the command line's keys.
func (m *Model) Help() keys.Input {
	return keys.Input{keys.Hint("tab", "complete"), keys.Hint("↑/↓", "history"), keys.Hint("enter", "run"), keys.Hint("esc", "cancel")}
}

// View draws the command line and, under it, the completion candidates.
func (m *Model) View(c *pvctx.Context, w int) (line, hint string) {
	st := c.Styles
	line = m.in.View(st.InputStyles(true), w)
	if len(m.candidates) > 0 {
		hint = st.Faint.Render(render.Cut(strings.Join(m.candidates, "  "), w))
	}
	return line, hint
}
