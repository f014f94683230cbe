package tui

import (
	"os"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/themes"
	"github.com/plugvisor/plugvisor/tui/components/cmdline"
	"github.com/plugvisor/plugvisor/tui/components/confirm"
	"github.com/plugvisor/plugvisor/tui/components/detail"
	"github.com/plugvisor/plugvisor/tui/components/footer"
	"github.com/plugvisor/plugvisor/tui/components/form"
	"github.com/plugvisor/plugvisor/tui/components/input"
	"github.com/plugvisor/plugvisor/tui/components/plugins"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/state"
)

const (
	foldInterval     = 50 * time.Millisecond
	snapshotInterval = time.Second
	flashFor         = 6 * time.Second
	backfillLines    = state.MaxLogLines
)

// pane is which pane has the keyboard when no input or dialog does.
type pane int

const (
	panePlugins pane = iota
	paneDetail
)

// Model is the console's root model. It is a pointer model: Update changes
// it in place and returns it, so the large buffers are never copied.
type Model struct {
	api  supervisor.API
	opts Options
	c    *pvctx.Context

	store *state.Store
	feed  *feed

	userThemes []themes.Theme
	followBG   bool // no theme chosen: switch to the terminal's background once it is known
	startFlash string

	table  plugins.Model
	detail detail.Model
	footer footer.Model
	focus  pane

	// At most one of these overlays holds the keyboard.
	form     *form.Model
	cmd      *cmdline.Model
	filter   *input.Model
	dialog   *confirm.Model
	showHelp bool

	lastID, lastContent string // the task form remembers the last task

	ticking       bool // a fold tick is scheduled (events are flowing)
	snapInFlight  bool
	statesChanged bool // a fold saw state changes not yet in a snapshot
	stopping      bool // the operator quit; waiting for the engine to stop

	cache caches
}

func newModel(api supervisor.API, opts Options) *Model {
	if opts.now == nil {
		opts.now = time.Now
	}
	if opts.getenv == nil {
		opts.getenv = os.Getenv
	}
	if opts.eventBuf <= 0 {
		opts.eventBuf = defaultEventBuffer
	}
	if opts.foldEvery <= 0 {
		opts.foldEvery = foldInterval
	}
	m := &Model{api: api, opts: opts, store: state.New(), feed: newFeed(), detail: detail.New(), lastID: "1"}
	theme, follow, user, err := pickTheme(opts)
	m.userThemes, m.followBG = user, follow
	m.c = pvctx.New(theme, opts.now)
	m.footer = footer.New(m.c)
	if err != nil {
		m.startFlash = err.Error()
	}
	return m
}

// close unsubscribes from the engine's events.
func (m *Model) close() { m.feed.close() }

// Init starts the event feed, the first snapshot, and (with no theme chosen)
// asks the terminal for its background colour.
func (m *Model) Init() tea.Cmd {
	api, f, buf := m.api, m.feed, m.opts.eventBuf
	cmds := []tea.Cmd{
		func() tea.Msg {
			f.start(api, buf)
			return f.waitCmd()()
		},
		m.snapshotCmd(false),
		m.watchEngine(),
	}
	m.snapInFlight = true
	if m.followBG {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	if m.startFlash != "" {
		// Not expired: a broken theme file should not go unnoticed.
		m.footer.Set(footer.Error, m.startFlash)
	}
	return tea.Batch(cmds...)
}

// Messages the model sends itself.
type (
	foldMsg     struct{}
	snapTickMsg struct{}
	snapshotMsg struct {
		statuses []supervisor.PluginStatus
		info     supervisor.Info
		extra    bool // taken because states changed, outside the 1 s cycle
	}
	backfillMsg struct {
		id    string
		lines []supervisor.LogLine
	}
	flashExpiredMsg struct{ id int }
	engineDoneMsg   struct{}
)

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.Width, m.c.Height = msg.Width, msg.Height
		return m, nil
	case tea.BackgroundColorMsg:
		if m.followBG {
			m.followBG = false
			m.setTheme(themes.ForBackground(msg.IsDark()))
		}
		return m, nil
	case wakeMsg:
		if m.ticking {
			return m, nil // one fold loop at a time
		}
		m.fold()
		m.ticking = true
		return m, tea.Batch(m.foldTick(), m.maybeSnapshot())
	case foldMsg:
		if m.fold() == 0 {
			m.ticking = false
			return m, m.feed.waitCmd()
		}
		return m, tea.Batch(m.foldTick(), m.maybeSnapshot())
	case snapTickMsg:
		if m.snapInFlight {
			return m, tea.Tick(snapshotInterval, func(time.Time) tea.Msg { return snapTickMsg{} })
		}
		m.snapInFlight = true
		return m, m.snapshotCmd(false)
	case snapshotMsg:
		return m, m.applySnapshot(msg)
	case backfillMsg:
		m.store.Backfill(msg.id, msg.lines)
		return m, nil
	case flashExpiredMsg:
		m.footer.Expire(msg.id)
		return m, nil
	case engineDoneMsg:
		m.close()
		return m, tea.Quit
	case actionMsg, pingMsg, taskMsg, reloadMsg:
		return m, m.actionDone(msg)
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case tea.PasteMsg:
		return m, m.paste(msg)
	case tea.MouseClickMsg:
		return m, m.click(msg.Mouse())
	case tea.MouseWheelMsg:
		return m, m.wheel(msg.Mouse())
	}
	return m, nil
}

// fold moves the pending events into the store and returns how many there
// were.
func (m *Model) fold() int {
	batch, dropped := m.feed.take()
	m.store.AddDropped(dropped)
	if len(batch) == 0 {
		return 0
	}
	if m.store.Apply(batch).States {
		m.statesChanged = true
	}
	m.syncSelection()
	return len(batch)
}

func (m *Model) foldTick() tea.Cmd {
	return tea.Tick(m.opts.foldEvery, func(time.Time) tea.Msg { return foldMsg{} })
}

// maybeSnapshot takes an extra snapshot after state changes, so pids and
// uptimes appear without waiting for the next second.
func (m *Model) maybeSnapshot() tea.Cmd {
	if !m.statesChanged || m.snapInFlight {
		return nil
	}
	m.statesChanged, m.snapInFlight = false, true
	return m.snapshotCmd(true)
}

func (m *Model) snapshotCmd(extra bool) tea.Cmd {
	api := m.api
	return func() tea.Msg {
		return snapshotMsg{statuses: api.Snapshot(), info: api.Info(), extra: extra}
	}
}

func (m *Model) applySnapshot(msg snapshotMsg) tea.Cmd {
	m.snapInFlight = false
	m.store.SetSnapshot(msg.statuses, msg.info)
	m.syncSelection()
	cmds := []tea.Cmd{m.backfill()}
	if !msg.extra {
		cmds = append(cmds, tea.Tick(snapshotInterval, func(time.Time) tea.Msg { return snapTickMsg{} }))
	}
	if m.statesChanged {
		cmds = append(cmds, m.maybeSnapshot())
	}
	return tea.Batch(cmds...)
}

// backfill fetches what new instances printed before the console
// subscribed (the engine keeps recent lines), so their logs do not start
// empty.
func (m *Model) backfill() tea.Cmd {
	ids := m.store.NeedBackfill()
	if len(ids) == 0 {
		return nil
	}
	api := m.api
	cmds := make([]tea.Cmd, len(ids))
	for i, id := range ids {
		cmds[i] = func() tea.Msg {
			lines, err := api.Logs(id, backfillLines)
			if err != nil {
				return nil // the instance went away; its events still come
			}
			return backfillMsg{id: id, lines: lines}
		}
	}
	return tea.Batch(cmds...)
}

// syncSelection keeps the table's cursor on its instance and the detail
// pane on the selected instance.
func (m *Model) syncSelection() {
	m.table.Sync(m.store.Order())
	m.detail.Show(m.table.Selected)
}

// watchEngine turns the engine's end into a message: the console leaves
// when the engine is gone, whoever stopped it.
func (m *Model) watchEngine() tea.Cmd {
	done := m.opts.EngineDone
	if done == nil {
		return nil
	}
	return func() tea.Msg {
		<-done
		return engineDoneMsg{}
	}
}

func (m *Model) now() time.Time { return m.opts.now() }
