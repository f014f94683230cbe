package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/themes"
	"github.com/plugvisor/plugvisor/tui/components/cmdline"
	"github.com/plugvisor/plugvisor/tui/components/confirm"
	"github.com/plugvisor/plugvisor/tui/components/describe"
	"github.com/plugvisor/plugvisor/tui/components/detail"
	"github.com/plugvisor/plugvisor/tui/components/footer"
	"github.com/plugvisor/plugvisor/tui/components/form"
	"github.com/plugvisor/plugvisor/tui/components/input"
	"github.com/plugvisor/plugvisor/tui/components/pager"
	"github.com/plugvisor/plugvisor/tui/components/plugins"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/state"
)

const (
	foldInterval     = 50 * time.Millisecond
	snapshotInterval = time.Second
	flashFor         = 6 * time.Second
	snapshotTimeout  = 10 * time.Second
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

	searchQueued bool // a searchStepMsg is on its way (logs_search.go)

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
	logsFull bool            // F: the Logs tab takes the whole body
	describe *describe.Model // d: the full view of one plugin, in place of the body

	tokens *supervisor.Tokens

	sent     form.Memory                   // the task form remembers each plugin's last task
	inFlight map[string]context.CancelFunc // by token: this console's tasks awaiting their reply, for c
	history  *cmdline.History              // the command line's, kept with the preferences
	kept     kept                          // where the preferences are kept, as last saved

	feedUp        bool // subscribed (or refused): backfills may start (history.go)
	snapInFlight  bool
	tickGen       uint64    // the snapshot cycle's current tick (snapTickMsg)
	lastInput     time.Time // the operator's last key, click or paste (cadence.go)
	statesChanged bool      // a fold saw state changes not yet in a snapshot
	stopping      bool      // the operator quit; waiting for the engine to stop
	leftEarly     bool      // then left without waiting: Run returns ErrLeftEarly

	// The line to a remote supervisor: once lost (Options.Lost), the store
	// keeps the last known state and the clock shown stops at lostAt.
	lost        bool
	lostErr     error // why, when known
	lostAt      time.Time
	snapshotErr error // the last snapshot failed, while connected
	// clock is when the last snapshot came: ages and uptimes are drawn as
	// of then, so the per-second changes of the clock are painted with the
	// snapshot's, not in frames of their own.
	clock time.Time

	cache caches

	// Of their own files: help.go, messages.go, notice.go, firstselect.go.
	helpPage     pager.Model // the help's scroll position
	showMessages bool        // the message history holds the keyboard
	msgPage      pager.Model // its scroll position
	notice       string      // a standing warning for the header
	firstDone    bool        // Options.Select was applied, or the operator chose first
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
	m := &Model{api: api, opts: opts, store: state.New(), feed: newFeed(), detail: detail.New(), sent: form.Memory{},
		tokens: supervisor.NewTokens("c"), inFlight: map[string]context.CancelFunc{}, lastInput: time.Now()}
	theme, follow, user, err := pickTheme(opts)
	m.userThemes, m.followBG = user, follow
	m.c = pvctx.New(theme, m.shownTime)
	m.footer = footer.New(m.c)
	if err != nil {
		m.startFlash = err.Error()
	}
	m.loadPrefs()
	if m.kept.err != nil {
		m.startFlash = strings.TrimPrefix(m.startFlash+"; "+m.kept.err.Error(), "; ")
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
			if err := f.start(api, buf); err != nil {
				return feedFailedMsg{err}
			}
			return subscribedMsg{}
		},
		m.snapshotCmd(),
		m.watchEngine(),
		m.watchLink(),
		m.watchNotice(),
	}
	if m.followBG {
		cmds = append(cmds, m.requestBackground())
	}
	if m.startFlash != "" {
		// Not expired: a broken theme file should not go unnoticed.
		m.footer.Set(footer.Error, m.startFlash)
	}
	return tea.Batch(cmds...)
}

// Messages the model sends itself.
type (
	snapTickMsg struct{ gen uint64 } // the cycle's tick; an older generation's is void
	snapshotMsg struct {
		statuses []supervisor.PluginStatus
		info     supervisor.Info
		err      error // the snapshot failed: statuses mean nothing
		infoErr  error // Info failed: info means nothing
		panicked any   // what taking it panicked with
	}
	backfillMsg struct {
		id    string
		lines []supervisor.LogLine
	}
	flashExpiredMsg struct{ id int }
	engineDoneMsg   struct{}
	linkLostMsg     struct{ err error }
)

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	touch := m.touched(msg)
	mm, cmd := m.update(msg)
	return mm, tea.Batch(touch, cmd, m.settle())
}

func (m *Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case searchStepMsg:
		m.searchStep()
		return m, nil
	case copyDroppedMsg:
		return m, m.flash(footer.Warn, "the copy never reached the terminal: it is not taking output")
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
		m.fold()
		return m, tea.Batch(m.feed.waitCmd(m.opts.foldEvery), m.maybeSnapshot())
	case snapTickMsg:
		if m.lost || msg.gen != m.tickGen {
			return m, nil // nothing more to learn, or a later snapshot restarted the cycle
		}
		if m.snapInFlight {
			return m, nil // the snapshot out, when it comes, starts the next tick
		}
		return m, m.snapshotCmd()
	case snapshotMsg:
		return m, m.applySnapshot(msg)
	case snapshotWaitMsg:
		return m, m.snapshotWaited(msg)
	case backfillMsg:
		m.store.Backfill(msg.id, msg.lines)
		return m, nil
	case subscribedMsg:
		return m, tea.Batch(m.feed.waitCmd(m.opts.foldEvery), m.subscribed())
	case historyMsg:
		m.store.BackfillHistory(msg.events)
		return m, nil
	case activityMsg:
		m.store.BackfillActivity(msg.id, msg.events)
		return m, nil
	case flashExpiredMsg:
		if m.footer.Expire(msg.id) && m.lost {
			m.footer.Set(footer.Error, m.lostText()+" · q quits") // the loss stays said
		}
		return m, nil
	case noticeMsg:
		m.showNotice(msg.n)
		return m, nil
	case linkLostMsg:
		m.linkLost(msg.err)
		return m, nil
	case feedFailedMsg:
		return m, tea.Batch(m.subscribed(), m.flash(footer.Error, "no live events: "+msg.err.Error()+"; the table still refreshes from snapshots"))
	case engineDoneMsg:
		m.close()
		return m, tea.Quit
	case prefsWrittenMsg:
		return m, m.prefsWritten(msg)
	case logsSavedMsg:
		return m, m.logsSaved(msg)
	case exportMsg:
		return m, m.exportDone(msg)
	case actionMsg, pingMsg, taskMsg, reloadMsg:
		return m, m.actionDone(msg)
	case bulkMsg:
		return m, m.bulkDone(msg)
	case tea.KeyPressMsg:
		return m, m.keyKeepingPrefs(msg)
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
	batch, sizes, dropped, states := m.feed.takeSized()
	m.store.AddDropped(dropped)
	if states {
		m.statesChanged = true // the snapshot brings the state changes lost
	}
	if len(batch) == 0 {
		return 0
	}
	if m.store.ApplySized(batch, sizes).States {
		m.statesChanged = true
	}
	m.syncSelection()
	return len(batch)
}

// maybeSnapshot takes an extra snapshot after state changes, so pids and
// uptimes appear without waiting for the next second.
func (m *Model) maybeSnapshot() tea.Cmd {
	if !m.statesChanged || m.snapInFlight || m.lost {
		return nil
	}
	m.statesChanged = false
	return m.snapshotCmd()
}

// feedFailedMsg: the event subscription was refused.
type feedFailedMsg struct{ err error }

// snapshotCmd takes a snapshot, counted out until it is applied: callers
// check snapInFlight first, so that one is taken at a time.
func (m *Model) snapshotCmd() tea.Cmd {
	m.snapInFlight = true
	api := m.api
	return func() tea.Msg {
		result := make(chan snapshotMsg, 1) // buffered: the taker never waits for the console
		go func() {
			sent := false
			// A panic is handed to the command, with this goroutine's stack,
			// and the command panics with it where Bubble Tea recovers and
			// gives the terminal back. Whatever ends the taker, a result is
			// sent: the cycle waits for one.
			defer func() {
				switch r := recover(); {
				case r != nil:
					result <- snapshotMsg{panicked: fmt.Sprintf("%v\n\n%s", r, debug.Stack())}
				case !sent:
					result <- snapshotMsg{err: errors.New("snapshot: the call ended without returning")}
				}
			}()
			var msg snapshotMsg
			ctx, cancel := context.WithTimeout(context.Background(), snapshotTimeout)
			defer cancel()
			if msg.statuses, msg.err = api.Snapshot(ctx); msg.err == nil {
				msg.info, msg.infoErr = api.Info(ctx)
			}
			sent = true
			result <- msg
		}()
		return awaitSnapshot(result)()
	}
}

// snapTick is the next tick of the snapshot cycle.
func (m *Model) snapTick() tea.Cmd {
	gen := m.tickGen
	return tea.Tick(m.snapshotEvery(), func(time.Time) tea.Msg { return snapTickMsg{gen: gen} })
}

// applySnapshot takes in a snapshot. A failed one changes nothing: the
// console goes on showing the last known state, marked as such.
func (m *Model) applySnapshot(msg snapshotMsg) tea.Cmd {
	m.snapInFlight = false
	m.clock = m.opts.now()
	m.store.Apply(m.feed.takeBeats()) // heartbeats wait for the snapshot
	var cmds []tea.Cmd
	if !m.lost {
		// Every snapshot restarts the cycle: the state changes that
		// asked for an extra one and the clock's next second share a frame
		// instead of coming a fraction of a second apart.
		m.tickGen++
		cmds = append(cmds, m.snapTick())
	}
	if msg.err != nil {
		if !m.lost && m.snapshotErr == nil {
			cmds = append(cmds, m.flash(footer.Warn, "snapshot failed: "+msg.err.Error()+"; showing the last known state"))
		}
		m.snapshotErr = msg.err
		return tea.Batch(cmds...)
	}
	m.snapshotErr = nil
	info := msg.info
	if msg.infoErr != nil {
		info = m.store.Info
	}
	m.store.SetSnapshot(msg.statuses, info)
	m.syncSelection()
	if m.lost {
		return tea.Batch(cmds...)
	}
	cmds = append(cmds, m.backfill())
	if m.statesChanged {
		cmds = append(cmds, m.maybeSnapshot())
	}
	return tea.Batch(cmds...)
}

// backfill fetches what new instances printed before the console
// subscribed (the engine keeps recent lines), so their logs do not start
// empty.
func (m *Model) backfill() tea.Cmd {
	if !m.feedUp {
		return nil // once subscribed, so that nothing falls between
	}
	ids := m.store.NeedBackfill()
	if len(ids) == 0 {
		return nil
	}
	api := m.api
	cmds := make([]tea.Cmd, 0, 2*len(ids))
	for _, id := range ids {
		cmds = append(cmds, activityCmd(api, id), func() tea.Msg {
			lines, err := api.Logs(context.Background(), id, backfillLines)
			if err != nil {
				return nil // the instance went away; its events still come
			}
			return backfillMsg{id: id, lines: lines}
		})
	}
	return tea.Batch(cmds...)
}

// syncSelection keeps the table's cursor on its instance and the detail
// pane on the selected instance.
func (m *Model) syncSelection() {
	m.table.Sync(m.store, m.c.Now())
	m.selectFirst()
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

// watchLink turns the loss of the connection to a remote supervisor into
// a message.
func (m *Model) watchLink() tea.Cmd {
	lost, why, closed := m.opts.Lost, m.opts.LostErr, m.feed.stop
	if lost == nil {
		return nil
	}
	return func() tea.Msg {
		select {
		case <-lost:
		case <-closed: // the console is leaving
			return nil
		}
		return linkLostMsg{err: lostCause(why)}
	}
}

// linkLost freezes the console on the last known state: the snapshots stop,
// the clock shown stops (uptimes and ages are as of the loss), the header
// and the flash line say so, and actions report it instead of trying.
func (m *Model) linkLost(err error) {
	if m.lost {
		return
	}
	m.lost, m.lostErr, m.lostAt = true, err, m.opts.now()
	m.feed.close() // its channel has ended anyway
	m.footer.Set(footer.Error, m.lostText()+" · q quits")
}

// lostText says that the connection is lost, and why when known.
func (m *Model) lostText() string {
	if m.lostErr == nil {
		return ErrConnectionLost.Error()
	}
	return ErrConnectionLost.Error() + ": " + m.lostErr.Error()
}

// lostError is what Run returns after a loss.
func (m *Model) lostError() error {
	if m.lostErr == nil {
		return fmt.Errorf("console: %w", ErrConnectionLost)
	}
	return fmt.Errorf("console: %w: %w", ErrConnectionLost, m.lostErr)
}

// refuseLost reports an action not tried because the connection is lost.
func (m *Model) refuseLost(what string) tea.Cmd {
	return m.flash(footer.Error, what+": not sent, "+m.lostText())
}

func (m *Model) now() time.Time { return m.opts.now() }

// shownTime is the clock the panes draw with: that of the last snapshot,
// and it stops when the connection is lost, so uptimes and ages stay those
// of the last known state.
func (m *Model) shownTime() time.Time {
	switch {
	case m.lost:
		return m.lostAt
	case !m.clock.IsZero():
		return m.clock
	}
	return m.opts.now()
}
