package themes

import "slices"

// Names of the built-in themes.
const (
	DarkName         = "dark"
	LightName        = "light"
	HighContrastName = "high-contrast"
	NoColorName      = "no-color"
)

// Dark is the default theme, for dark backgrounds.
func Dark() Theme {
	return Theme{
		Name: DarkName, Dark: true,
		Text: "#d0d0d0", Faint: "#7a7a7a", Accent: "#7aa2f7", Border: "#444444",
		Selection: "#2d3f66", SelectionText: "#ffffff", Highlight: "#7a5f00",
		Running: "#73c936", Starting: "#7dcfff", Backoff: "#e0af68", Failed: "#f7768e", Stopped: "#808080",
	}
}

// Light is for light backgrounds.
func Light() Theme {
	return Theme{
		Name: LightName, Dark: false,
		Text: "#1f1f1f", Faint: "#6b6b6b", Accent: "#2f5bb7", Border: "#b8b8b8",
		Selection: "#c9d8f5", SelectionText: "#000000", Highlight: "#ffe08a",
		Running: "#2e7d32", Starting: "#0277bd", Backoff: "#a15c00", Failed: "#c62828", Stopped: "#6b6b6b",
	}
}

// HighContrast uses the 16 basic ANSI colours at full strength, which every
// terminal renders, and bright white on blue for the selection.
func HighContrast() Theme {
	return Theme{
		Name: HighContrastName, Dark: true,
		Text: "15", Faint: "7", Accent: "14", Border: "15",
		Selection: "4", SelectionText: "15", Highlight: "3",
		Running: "10", Starting: "14", Backoff: "11", Failed: "9", Stopped: "7",
	}
}

// NoColor sets no colour at all: the console relies on symbols, words, bold
// and reverse video. It is chosen when NO_COLOR is set.
func NoColor() Theme { return Theme{Name: NoColorName, Dark: true} }

// Builtins returns the built-in themes, default first.
func Builtins() []Theme { return []Theme{Dark(), Light(), HighContrast(), NoColor()} }

// Default is the theme used when none is chosen or the chosen one is unusable.
func Default() Theme { return Dark() }

// ForBackground picks the built-in theme that suits a dark or light background.
func ForBackground(dark bool) Theme {
	if dark {
		return Dark()
	}
	return Light()
}

// Find looks name up among the user themes first (so a user may redefine a
// built-in), then the built-ins.
func Find(name string, user []Theme) (Theme, bool) {
	if i := slices.IndexFunc(user, func(t Theme) bool { return t.Name == name }); i >= 0 {
		return user[i], true
	}
	for _, t := range Builtins() {
		if t.Name == name {
			return t, true
		}
	}
	return Theme{}, false
}

// All is the cycle order for switching themes live: built-ins, then user
// themes; a user theme that redefines a built-in replaces it in place.
func All(user []Theme) []Theme {
	out := Builtins()
	for _, u := range user {
		if i := slices.IndexFunc(out, func(t Theme) bool { return t.Name == u.Name }); i >= 0 {
			out[i] = u
			continue
		}
		out = append(out, u)
	}
	return out
}
