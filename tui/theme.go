package tui

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/plugvisor/plugvisor/themes"
	"github.com/plugvisor/plugvisor/tui/components/footer"
)

// pickTheme chooses the starting theme: the one named, else the colourless
// one when NO_COLOR is set, else the default until the terminal reports its
// background (follow). A bad theme file or an unknown name is reported and
// the default used.
func pickTheme(opts Options) (t themes.Theme, follow bool, user []themes.Theme, err error) {
	user, err = themes.Load(opts.ThemeDir)
	if err != nil {
		err = fmt.Errorf("themes: %w", err)
	}
	switch {
	case opts.Theme != "":
		found, ok := themes.Find(opts.Theme, user)
		if !ok {
			err = errors.Join(fmt.Errorf("no theme %q (have %s); using %s", opts.Theme, strings.Join(themeNames(user), ", "), themes.Default().Name), err)
			return themes.Default(), false, user, oneLine(err)
		}
		return found, false, user, oneLine(err)
	case opts.getenv("NO_COLOR") != "":
		return themes.NoColor(), false, user, oneLine(err)
	}
	return themes.Default(), true, user, oneLine(err)
}

// oneLine joins a multi-line error for the flash line.
func oneLine(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
}

func themeNames(user []themes.Theme) []string {
	var out []string
	for _, t := range themes.All(user) {
		out = append(out, t.Name)
	}
	return out
}

func (m *Model) setTheme(t themes.Theme) {
	m.c.SetTheme(t)
	m.footer.Restyle(m.c)
}

// nextTheme cycles through the built-in and user themes.
func (m *Model) nextTheme() tea.Cmd {
	all := themes.All(m.userThemes)
	i := slices.IndexFunc(all, func(t themes.Theme) bool { return t.Name == m.c.Theme.Name })
	t := all[(i+1)%len(all)]
	m.setTheme(t)
	m.followBG = false
	return m.flash(footer.Info, "theme "+t.Name)
}

// themeByName switches to a named theme (the :theme command).
func (m *Model) themeByName(name string) tea.Cmd {
	t, ok := themes.Find(name, m.userThemes)
	if !ok {
		return m.flash(footer.Error, fmt.Sprintf("no theme %q (have %s)", name, strings.Join(themeNames(m.userThemes), ", ")))
	}
	m.setTheme(t)
	m.followBG = false
	return m.flash(footer.Info, "theme "+t.Name)
}
