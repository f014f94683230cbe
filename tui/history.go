package tui

import (
	"context"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/state"
)

// The console learns the past from History once it is subscribed, so that
// nothing falls between the two: what happened before (state changes, the
// supervisor's log, each instance's records and tasks) comes from History,
// what happens after from the feed; the store skips what comes from both.

const historyTimeout = snapshotTimeout

// Messages of the history backfill.
type (
	subscribedMsg struct{} // the feed is subscribed (or could not be)
	historyMsg    struct{ events []supervisor.Event }
	activityMsg   struct {
		id     string
		events []supervisor.Event
	}
)

// subscribed starts the backfills that had to wait for the subscription.
func (m *Model) subscribed() tea.Cmd {
	m.feedUp = true
	return tea.Batch(m.historyCmd(), m.backfill())
}

// historyCmd fetches every plugin's state changes and the supervisor's log.
func (m *Model) historyCmd() tea.Cmd {
	api := m.api
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), historyTimeout)
		defer cancel()
		evs, err := api.History(ctx, supervisor.HistoryQuery{Types: []supervisor.EventType{supervisor.EventState, supervisor.EventSupervisorLog},
			N: state.MaxEvents + state.MaxSupervisorLog}) // no more than the rings keep
		if err != nil {
			return nil // an older supervisor, or gone: the live events still come
		}
		return historyMsg{evs}
	}
}

// activityCmd fetches an instance's records and tasks from before the
// console subscribed.
func activityCmd(api supervisor.API, id string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), historyTimeout)
		defer cancel()
		evs, err := api.History(ctx, supervisor.HistoryQuery{Plugin: id, Types: []supervisor.EventType{supervisor.EventRecords, supervisor.EventTask}})
		if err != nil {
			return nil
		}
		return activityMsg{id: id, events: evs}
	}
}
