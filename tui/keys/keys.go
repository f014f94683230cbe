// Package keys is the console's key map: every binding with its help text, grouped for the help view.
package keys

import "charm.land/bubbles/v2/key"

// KeyMap holds every global binding. Inputs (the task form, the command
// line, filters, dialogs) get keys before these, so typing never triggers them.
type KeyMap struct {
	Up, Down, Top, Bottom, PageUp, PageDown key.Binding
	NextPane, PrevPane                      key.Binding
	Logs, Data, Tasks, Info                 key.Binding
	Events, Supervisor, AllPlugins          key.Binding
	Enter, Back                             key.Binding

	Start, Stop, Restart, Task, Ping, Reload key.Binding

	Filter, Follow, Wrap, Timestamps key.Binding
	Theme, Command, Help, Quit       key.Binding
	Messages                         key.Binding

	// The plugins table's own: its sort and its marks.
	Sort, SortFlip, Mark, MarkAll            key.Binding
	Find, Fullscreen, SaveLogs               key.Binding // the Logs tab's search, fullscreen and save
	Describe, Copy, RecordsTable, CancelTask key.Binding
}

// Default is the key map: k9s and lazydocker conventions.
func Default() KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		Up:       b("↑/k", "up", "up", "k"),
		Down:     b("↓/j", "down", "down", "j"),
		Top:      b("g/home", "first", "g", "home"),
		Bottom:   b("G/end", "last", "G", "end"),
		PageUp:   b("pgup/ctrl+u", "page up", "pgup", "ctrl+u"),
		PageDown: b("pgdn/ctrl+d", "page down", "pgdown", "ctrl+d"),
		NextPane: b("tab", "next pane", "tab"),
		PrevPane: b("shift+tab", "previous pane", "shift+tab"),
		Logs:     b("1", "logs", "1"),
		Data:     b("2", "data", "2"),
		Tasks:    b("3", "tasks", "3"),
		Info:     b("4", "info", "4"),
		Enter:    b("enter", "expand", "enter"),
		Back:     b("esc", "back", "esc"),

		Events:     b("5", "events", "5"),
		Supervisor: b("6", "supervisor log", "6"),
		AllPlugins: b("a", "all plugins", "a"),

		Start:   b("s", "start", "s"),
		Stop:    b("x", "stop", "x"),
		Restart: b("r", "restart", "r"),
		Task:    b("t", "send task", "t"),
		Ping:    b("p", "ping", "p"),
		Reload:  b("R", "reload config", "R"),

		Filter:     b("/", "filter", "/"),
		Follow:     b("f", "follow", "f"),
		Wrap:       b("w", "wrap", "w"),
		Timestamps: b("z", "timestamps", "z"),
		Theme:      b("T", "next theme", "T"),
		Command:    b(":", "command", ":"),
		Help:       b("?", "help", "?"),
		Messages:   b("m", "messages", "m"),
		Quit:       b("q/ctrl+c", "quit", "q", "ctrl+c"),

		Sort:         b("o", "sort: next column", "o"),
		SortFlip:     b("O", "sort: reverse", "O"),
		Mark:         b("space", "mark", "space"),
		MarkAll:      b("ctrl+a", "mark all shown", "ctrl+a"),
		Find:         b("n/N", "next/prev match", "n", "N"),
		Fullscreen:   b("F", "full-screen logs", "F"),
		SaveLogs:     b("ctrl+s", "save logs", "ctrl+s"),
		Describe:     b("d", "describe", "d"),
		Copy:         b("y", "copy (OSC 52)", "y"),
		RecordsTable: b("v", "records table", "v"),
		CancelTask:   b("c", "cancel task", "c"),
	}
}

// Focus is what has the keyboard, which decides the short help.
type Focus int

// Focus values for the short help.
const (
	FocusPlugins Focus = iota
	FocusLogs
	FocusData
	FocusTasks
	FocusInfo
	FocusEvents
	FocusSupervisor
)

// Short is the one-line help for what has focus.
func (k KeyMap) Short(f Focus) []key.Binding {
	switch f {
	case FocusLogs:
		// The tab's own keys first, in words short enough that they fit
		// at 80 columns with help and quit: the line is where they are
		// learnt, and what does not fit is dropped from the end.
		return []key.Binding{k.Filter, brief(k.Find, "match"), brief(k.Fullscreen, "fullscreen"), brief(k.SaveLogs, "save"),
			k.Follow, k.Wrap, k.Timestamps, k.Up, k.NextPane, k.Help, k.Quit}
	case FocusData:
		return []key.Binding{k.Up, k.Enter, k.Filter, k.RecordsTable, k.Copy, k.NextPane, k.Help, k.Quit}
	case FocusTasks:
		return []key.Binding{k.Up, k.Enter, k.Filter, k.Task, k.CancelTask, k.Copy, k.NextPane, k.Help, k.Quit}
	case FocusInfo, FocusSupervisor:
		return []key.Binding{k.Up, k.NextPane, k.Help, k.Quit}
	case FocusEvents:
		return []key.Binding{k.Up, k.AllPlugins, k.NextPane, k.Help, k.Quit}
	}
	return []key.Binding{k.Up, k.Start, k.Stop, k.Restart, k.Task, k.Ping, k.Command, k.Help, k.Quit}
}

// brief is b with a shorter description, for the one-line help.
func brief(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

// Groups is every binding, in columns, for the full help and the README.
func (k KeyMap) Groups() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown, k.NextPane, k.PrevPane},
		{k.Start, k.Stop, k.Restart, k.Task, k.Ping, k.Reload, k.Command, k.Describe, k.Mark, k.MarkAll},
		{k.Logs, k.Data, k.Tasks, k.Info, k.Events, k.Supervisor, k.Enter, k.Back, k.Filter, k.Find, k.Sort, k.SortFlip, k.RecordsTable, k.CancelTask},
		{k.AllPlugins, k.Follow, k.Wrap, k.Timestamps, k.Fullscreen, k.SaveLogs, k.Theme, k.Copy, k.Messages, k.Help, k.Quit},
	}
}

// Short and full help for the help bubble, for what has focus.
type Help struct {
	Map   KeyMap
	Focus Focus
}

// ShortHelp implements help.KeyMap.
func (h Help) ShortHelp() []key.Binding { return h.Map.Short(h.Focus) }

// FullHelp implements help.KeyMap.
func (h Help) FullHelp() [][]key.Binding { return h.Map.Groups() }

// Input is the help shown while a text input or dialog has the keys.
type Input []key.Binding

// ShortHelp implements help.KeyMap.
func (i Input) ShortHelp() []key.Binding { return i }

// FullHelp implements help.KeyMap.
func (i Input) FullHelp() [][]key.Binding { return [][]key.Binding{i} }

// Hint builds a help-only binding for inputs and dialogs.
func Hint(keyHelp, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(keyHelp), key.WithHelp(keyHelp, desc))
}
