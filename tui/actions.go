package tui

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/components/detail"
	"github.com/plugvisor/plugvisor/tui/components/footer"
	"github.com/plugvisor/plugvisor/tui/render"
)

// Every action calls the API from a tea.Cmd, never from Update: Start, Stop
// and Restart block until the outcome, and a remote API is a network call.
// The flash line says what is under way, then how it ended.

const (
	taskDeadline = 2 * time.Minute // the engine's task timeout answers first
	pingDeadline = 30 * time.Second
	// lifecycleDeadline bounds a start, stop, restart or reload: they wait
	// for plugins to register or leave, which may take a while, but a
	// stalled remote engine must not leave the flash line waiting forever.
	lifecycleDeadline = 2 * time.Minute
)

type (
	actionMsg struct {
		op, name string
		err      error
		took     time.Duration
	}
	reloadMsg struct{ err error }
	pingMsg   struct {
		name string
		rtt  time.Duration
		err  error
	}
	taskMsg struct {
		target string
		reply  supervisor.Reply
		err    error
	}
)

// forms are an operation's progressive and past forms for the flash line.
func forms(op string) (doing, done string) {
	switch op {
	case "start":
		return "starting", "started"
	case "stop":
		return "stopping", "stopped"
	}
	return "restarting", "restarted"
}

// flash shows a message; outcomes expire, progress stays until replaced.
func (m *Model) flash(level footer.Level, text string) tea.Cmd {
	id := m.footer.Set(level, text)
	if level == footer.Info && strings.HasSuffix(text, "…") {
		return nil
	}
	return tea.Tick(flashFor, func(time.Time) tea.Msg { return flashExpiredMsg{id: id} })
}

// lifecycle runs start, stop or restart on name.
func (m *Model) lifecycle(op, name string) tea.Cmd {
	if name == "" {
		return m.flash(footer.Warn, "no plugin selected")
	}
	if m.lost {
		return m.refuseLost(op + " " + name)
	}
	if cmd, down := m.refuseHostDown(op+" "+name, name); down {
		return cmd
	}
	api := m.api
	call := map[string]func(context.Context, string) error{"start": api.Start, "stop": api.Stop, "restart": api.Restart}[op]
	doing, _ := forms(op)
	m.flash(footer.Info, doing+" "+name+"…")
	return func() tea.Msg {
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), lifecycleDeadline)
		defer cancel()
		err := call(ctx, name)
		return actionMsg{op: op, name: name, err: err, took: time.Since(t0)}
	}
}

func (m *Model) reload() tea.Cmd {
	if m.lost {
		return m.refuseLost("reload")
	}
	api := m.api
	m.flash(footer.Info, "reloading the configuration…")
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), lifecycleDeadline)
		defer cancel()
		return reloadMsg{err: api.Reload(ctx)}
	}
}

func (m *Model) ping(name string) tea.Cmd {
	if name == "" {
		return m.flash(footer.Warn, "no plugin selected")
	}
	if m.lost {
		return m.refuseLost("ping " + name)
	}
	if cmd, down := m.refuseHostDown("ping "+name, name); down {
		return cmd
	}
	api := m.api
	m.flash(footer.Info, "pinging "+name+"…")
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), pingDeadline)
		defer cancel()
		rtt, err := api.Ping(ctx, name)
		return pingMsg{name: name, rtt: rtt, err: err}
	}
}

// sendTask shows the round trip as pending at once, in the Tasks tab of
// its plugin, and fills in the reply when the call returns.
func (m *Model) sendTask(target string, id uint32, content string) tea.Cmd {
	m.sent.Remember(m.pluginName(target), id, content)
	if m.lost {
		return m.refuseLost(fmt.Sprintf("task %d → %s", id, target))
	}
	if cmd, down := m.refuseHostDown(fmt.Sprintf("task %d → %s", id, target), target); down {
		return cmd
	}
	token := m.tokens.Next()
	m.store.AddPending(target, token, id, content, m.now())
	m.selectTarget(target)
	m.detail.SetTab(detail.TabTasks)
	m.detail.NewestTask()
	api := m.api
	m.flash(footer.Info, fmt.Sprintf("task %d → %s…", id, target))
	ctx, cancel := context.WithTimeout(context.Background(), taskDeadline)
	m.inFlight[token] = cancel // c cancels it
	return func() tea.Msg {
		defer cancel()
		reply, err := api.SendTask(ctx, supervisor.TaskRequest{Plugin: target, ID: id, Content: content, Token: token})
		reply.Token = token
		return taskMsg{target: target, reply: reply, err: err}
	}
}

// pluginName is the plugin a target (a plugin or an instance id) belongs to.
func (m *Model) pluginName(target string) string {
	if p := m.store.Plugin(target); p != nil {
		return p.Status.Name
	}
	return target
}

// selectTarget moves the cursor to the instance a command names, or to the
// first instance of the plugin it names (staying put if an instance of that
// plugin is already selected).
func (m *Model) selectTarget(name string) {
	order := m.store.Order()
	if cur := m.store.Plugin(m.table.Selected); cur != nil && cur.Status.Name == name {
		m.table.Choose()
		return
	}
	i := slices.Index(order, name)
	if i < 0 {
		i = slices.IndexFunc(order, func(id string) bool { return m.store.Plugin(id).Status.Name == name })
	}
	if i >= 0 {
		m.table.Select(order, i)
		m.detail.Show(m.table.Selected)
	}
}

// actionDone reports an action's outcome.
func (m *Model) actionDone(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case actionMsg:
		if msg.err != nil {
			return m.flash(footer.Error, msg.op+" "+msg.name+": "+msg.err.Error())
		}
		m.statesChanged = true
		_, done := forms(msg.op)
		return tea.Batch(m.flash(footer.OK, msg.name+" "+done+" in "+render.Duration(msg.took)), m.maybeSnapshot())
	case reloadMsg:
		if msg.err != nil {
			return m.flash(footer.Error, msg.err.Error())
		}
		m.statesChanged = true
		return tea.Batch(m.flash(footer.OK, "configuration reloaded"), m.maybeSnapshot())
	case pingMsg:
		if msg.err != nil {
			return m.flash(footer.Error, "ping "+msg.name+": "+msg.err.Error())
		}
		return m.flash(footer.OK, msg.name+": pong in "+render.Duration(msg.rtt))
	case taskMsg:
		delete(m.inFlight, msg.reply.Token)
		m.store.Resolve(msg.target, msg.reply, msg.err)
		return m.flash(taskOutcome(msg))
	}
	return nil
}

func taskOutcome(msg taskMsg) (footer.Level, string) {
	r := msg.reply
	who := r.Instance
	if who == "" {
		who = msg.target
	}
	switch r.Outcome {
	case supervisor.OutcomeAnswered:
		return footer.OK, fmt.Sprintf("%s answered task %d in %s: %s", who, r.ID, render.Duration(r.RTT), replyText(r))
	case supervisor.OutcomeError:
		return footer.Error, fmt.Sprintf("%s failed task %d in %s: %s", who, r.ID, render.Duration(r.RTT), r.Error)
	}
	why := string(r.Outcome)
	if msg.err != nil && r.Outcome != supervisor.OutcomeCancelled { // cancelled by c: "context canceled" says less
		why = msg.err.Error()
	}
	return footer.Error, "task to " + msg.target + ": " + why
}

// replyText is the final reply record's fields other than the reserved ones.
func replyText(r supervisor.Reply) string {
	if len(r.Records) == 0 {
		return "no records"
	}
	last := r.Records[len(r.Records)-1]
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(last.Fields)) {
		if k != protocol.FieldDataType && k != protocol.FieldTaskStatus {
			parts = append(parts, k+"="+last.Fields[k])
		}
	}
	s := strings.Join(parts, " ")
	if n := len(r.Records); n > 1 {
		s += fmt.Sprintf(" (+%d records)", n-1)
	}
	return s
}
