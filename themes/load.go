package themes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// A user theme file, e.g. $XDG_CONFIG_HOME/plugvisor/themes/dusk.toml:
//
//	name = "dusk"      # default: the file name without .toml
//	extends = "dark"   # slots not set come from this theme; default "dark"
//	dark = true        # default: that of the theme it extends
//	text = "#c0caf5"
//	failed = "9"
//
// Every other key is a colour slot (see SlotNames).

// Error is one problem in a theme file, tied to where it was written.
type Error struct {
	File string
	Line int    // 0: the file as a whole
	Key  string // empty for syntax errors
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	return b.String() + ": " + e.Msg
}

// Load reads every *.toml in dir as a theme, in file name order. A missing
// dir is no error. Bad files are reported (all of them, joined) and left
// out; the good ones are still returned.
func Load(dir string) ([]Theme, error) {
	if dir == "" {
		return nil, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.toml"))
	if err != nil {
		return nil, fmt.Errorf("themes: %w", err)
	}
	sort.Strings(files)
	var out []Theme
	var errs []error
	for _, f := range files {
		t, err := LoadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, t)
	}
	return out, errors.Join(errs...)
}

// LoadFile reads one theme file.
func LoadFile(path string) (Theme, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Theme{}, &Error{File: path, Msg: "no such file"}
		}
		return Theme{}, &Error{File: path, Msg: err.Error()}
	}
	return Parse(path, data)
}

// Parse decodes a theme file's content; path names it in errors and gives
// the default name.
func Parse(path string, data []byte) (Theme, error) {
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return Theme{}, &Error{File: path, Line: pe.Position.Line, Msg: pe.Message}
		}
		return Theme{}, &Error{File: path, Msg: err.Error()}
	}
	p := parser{path: path, lines: keyLines(data), tree: tree}
	return p.theme()
}

type parser struct {
	path  string
	lines map[string]int
	tree  map[string]any
	errs  []error
}

func (p *parser) fail(key, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.path, Line: p.lines[key], Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) str(key string) (string, bool) {
	v, ok := p.tree[key]
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		p.fail(key, "must be a string, got %T", v)
	}
	return s, ok
}

func (p *parser) theme() (Theme, error) {
	base := Default()
	if ext, ok := p.str("extends"); ok {
		if b, found := Find(ext, nil); found {
			base = b
		} else {
			p.fail("extends", "no built-in theme %q (have %s)", ext, strings.Join(builtinNames(), ", "))
		}
	}
	t := base
	t.Name = strings.TrimSuffix(filepath.Base(p.path), ".toml")
	if name, ok := p.str("name"); ok {
		if name == "" {
			p.fail("name", "must not be empty")
		}
		t.Name = name
	}
	if v, ok := p.tree["dark"]; ok {
		if d, isBool := v.(bool); isBool {
			t.Dark = d
		} else {
			p.fail("dark", "must be true or false, got %T", v)
		}
	}
	p.colours(&t)
	return t, errors.Join(p.errs...)
}

// colours sets every slot the file names and reports unknown keys.
func (p *parser) colours(t *Theme) {
	slots := t.slots()
	known := map[string]bool{"name": true, "extends": true, "dark": true}
	for _, sl := range slots {
		known[sl.key] = true
		s, ok := p.str(sl.key)
		if !ok {
			continue
		}
		if !valid(s) {
			p.fail(sl.key, `%q is not a colour: want "#rrggbb", "#rgb", an ANSI index 0-255, or "" for none`, s)
			continue
		}
		*sl.c = Color(s)
	}
	keys := make([]string, 0, len(p.tree))
	for k := range p.tree {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !known[k] {
			p.fail(k, "unknown key (colour slots: %s)", strings.Join(SlotNames(), ", "))
		}
	}
}

func builtinNames() []string {
	var out []string
	for _, t := range Builtins() {
		out = append(out, t.Name)
	}
	return out
}

// keyLines maps each top-level key to the line it is written on. Theme files
// are flat, so a line scan is enough to point at the offending key.
func keyLines(data []byte) map[string]int {
	out := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		if key, ok := lineKey(line); ok {
			if _, seen := out[key]; !seen {
				out[key] = i + 1
			}
		}
	}
	return out
}

// lineKey is the key a line assigns: spaces, the key (letters, digits, '_'
// or '-'), quoted or not, spaces, '='. It is read byte by byte rather than
// by a regular expression, whose compilation at package init every start of
// the plugvisor binary would pay.
func lineKey(line string) (string, bool) {
	i := skipSpace(line, 0)
	if i < len(line) && line[i] == '"' {
		i++
	}
	start := i
	for i < len(line) && isKeyByte(line[i]) {
		i++
	}
	if i == start {
		return "", false
	}
	key := line[start:i]
	if i < len(line) && line[i] == '"' {
		i++
	}
	i = skipSpace(line, i)
	return key, i < len(line) && line[i] == '='
}

func skipSpace(s string, i int) int {
	for i < len(s) && strings.IndexByte(" \t\n\f\r", s[i]) >= 0 {
		i++
	}
	return i
}

func isKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}
