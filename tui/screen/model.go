package screen

import (
	tea "charm.land/bubbletea/v2"
)

// Wrap returns m as the program's model, painted on t: every frame m's View
// returns is offered to t, the messages that concern the terminal (its
// size, colour profile, mode reports) reach t as well as m, the operator's
// input makes its frame urgent (Input), and a panic in
// m's Update or View or in a command they return gives the terminal back
// before it goes on to Bubble Tea's recovery, which then prints it on the
// main screen, where it can be read.
func (t *Terminal) Wrap(m tea.Model) tea.Model { return &painted{m: m, t: t} }

type painted struct {
	m tea.Model
	t *Terminal
}

func (p *painted) Init() tea.Cmd {
	defer p.t.restoreOnPanic()
	return p.t.guard(p.m.Init())
}

func (p *painted) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	defer p.t.restoreOnPanic()
	switch m := msg.(type) {
	case tea.WindowSizeMsg:
		// The size the terminal has now: the program's first one (from
		// ProgramOptions) may be stale by the time it arrives, and a
		// message from watch may arrive ahead of it.
		if w, h, ok := p.t.size(); ok {
			m = tea.WindowSizeMsg{Width: w, Height: h}
			msg = m
		}
		p.t.Resize(m.Width, m.Height)
		p.t.Input() // the new layout, at once
	case tea.ColorProfileMsg:
		p.t.SetColorProfile(m.Profile)
	case tea.ModeReportMsg:
		p.t.modeReport(m)
	case tea.KeyPressMsg, tea.MouseClickMsg, tea.MouseWheelMsg, tea.PasteMsg:
		p.t.Input()
	}
	m, cmd := p.m.Update(msg)
	p.m = m
	return p, p.t.guard(cmd)
}

func (p *painted) View() tea.View {
	defer p.t.restoreOnPanic()
	v := p.m.View()
	p.t.Offer(v)
	return v
}

// guard wraps cmd, and the commands of any batch it returns, so that a
// panic in them gives the terminal back first. The commands of a
// tea.Sequence are out of its reach (their message type is Bubble Tea's
// own): a program painted here batches instead.
func (t *Terminal) guard(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() tea.Msg {
		defer t.restoreOnPanic()
		msg := cmd()
		if b, ok := msg.(tea.BatchMsg); ok {
			out := make(tea.BatchMsg, len(b))
			for i, c := range b {
				out[i] = t.guard(c)
			}
			return out
		}
		return msg
	}
}

// restoreOnPanic, deferred, gives the terminal back if the function is
// panicking and lets the panic go on. The stack of the panic is still the
// one that panicked: the re-raise happens before anything unwinds.
func (t *Terminal) restoreOnPanic() {
	if r := recover(); r != nil {
		_ = t.Close()
		panic(r)
	}
}
