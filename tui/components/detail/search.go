package detail

import (
	"regexp"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/plugvisor/plugvisor/tui/render"
)

// searchMode is what a log search does with the lines it matches, chosen
// by the text's prefix as in k9s.
type searchMode int

const (
	modeNone    searchMode = iota
	modeFind               // TEXT: every line stays, matches are highlighted, n/N go from one to the next
	modeFilter             // =TEXT: only matching lines are shown
	modeInverse            // !TEXT: matching lines are hidden
	modeFuzzy              // -f TEXT: only lines holding TEXT's characters in order are shown
)

// maxSearch bounds the text compiled: a pasted megabyte is not a search.
const maxSearch = 512

// search is a parsed log search. The text is a regular expression matched
// without regard to case; one that does not compile is matched literally,
// and invalid says why, for the input to show.
type search struct {
	raw     string
	mode    searchMode
	expr    string // the text after the prefix
	re      *regexp.Regexp
	fuzzy   []rune // lower-cased, for modeFuzzy
	literal bool   // expr has no metacharacters: hit is a case-folded substring test
	invalid string
}

// parseSearch reads a search as typed.
func parseSearch(raw string) search {
	s := search{raw: raw}
	text := render.Head(raw, maxSearch)
	switch {
	case text == "":
		return s
	case strings.HasPrefix(text, "-f "):
		s.mode, s.expr = modeFuzzy, strings.TrimSpace(text[3:])
		s.fuzzy = render.FuzzyQuery(s.expr)
	case text[0] == '!':
		s.mode, s.expr = modeInverse, text[1:]
	case text[0] == '=':
		s.mode, s.expr = modeFilter, text[1:]
	default:
		s.mode, s.expr = modeFind, text
	}
	if s.expr == "" {
		s.mode = modeNone
		return s
	}
	if s.mode == modeFuzzy {
		return s
	}
	s.invalid = tooComplex(s.expr)
	var re *regexp.Regexp
	if s.invalid == "" {
		var err error
		if re, err = regexp.Compile("(?i)" + s.expr); err != nil {
			s.invalid = "not a regex: literal"
		}
	}
	if re == nil {
		re = regexp.MustCompile("(?i)" + regexp.QuoteMeta(s.expr))
	}
	s.re = re
	s.literal = plainASCII(s.expr)
	return s
}

// hit reports whether a line matches the search's text.
func (s *search) hit(line string) bool {
	switch s.mode {
	case modeNone:
		return false
	case modeFuzzy:
		return render.FuzzyHit(line, s.fuzzy)
	}
	if s.literal {
		return render.IndexFold(line, s.expr) >= 0
	}
	return s.re.MatchString(line)
}

// shows reports whether a line that hit (or not) is shown.
func (s *search) shows(hit bool) bool {
	switch s.mode {
	case modeFilter, modeFuzzy:
		return hit
	case modeInverse:
		return !hit
	}
	return true
}

// highlights reports whether matches are marked in the lines shown: an
// inverse filter shows only lines with none.
func (s *search) highlights() bool { return s.mode != modeNone && s.mode != modeInverse }

// spans are the byte ranges of line to highlight.
func (s *search) spans(line string) [][]int {
	if !s.highlights() {
		return nil
	}
	if s.mode == modeFuzzy {
		return render.FuzzySpans(line, s.fuzzy)
	}
	return s.re.FindAllStringIndex(line, -1)
}

// highlight styles text with base and the byte ranges spans (ascending,
// not overlapping, as regexp and render.FuzzySpans give them) with hl.
func highlight(text string, spans [][]int, base, hl lipgloss.Style) string {
	if len(spans) == 0 {
		return base.Render(text)
	}
	var b strings.Builder
	at := 0
	for _, sp := range spans {
		lo, hi := max(sp[0], at), min(sp[1], len(text))
		if lo >= hi {
			continue
		}
		if lo > at {
			b.WriteString(base.Render(text[at:lo]))
		}
		b.WriteString(hl.Render(text[lo:hi]))
		at = hi
	}
	if at < len(text) {
		b.WriteString(base.Render(text[at:]))
	}
	return b.String()
}
