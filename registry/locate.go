package registry

import (
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// keyPath is a TOML key split into its parts. An array element is a part
// starting with NUL (no sane key does), printed as "[i]".
type keyPath []string

func (k keyPath) String() string {
	var b strings.Builder
	for i, part := range k {
		if isIndex(part) {
			b.WriteString("[" + part[1:] + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(toml.Key{part}.String()) // quotes parts that need it
	}
	return b.String()
}

func isIndex(part string) bool { return strings.HasPrefix(part, "\x00") }

func (k keyPath) key(names ...string) keyPath {
	return append(append(keyPath{}, k...), names...)
}

func (k keyPath) index(i int) keyPath {
	return k.key("\x00" + strconv.Itoa(i))
}

// keyLines maps every key of a TOML document (keyPath.String() form) to the
// line it first appears on. BurntSushi/toml keeps key positions private, so
// this is a small scanner of its own. It expects a document toml has already
// accepted, but never loops or panics on any input.
func keyLines(src string) map[string]int {
	s := &scanner{src: src, line: 1, lines: map[string]int{}}
	s.document()
	return s.lines
}

type scanner struct {
	src   string
	i     int
	line  int
	lines map[string]int
}

func (s *scanner) document() {
	var table keyPath
	for {
		s.skipBlank()
		if s.i >= len(s.src) {
			return
		}
		line := s.line
		if s.peek() == '[' {
			s.i++
			if s.peek() == '[' {
				s.i++
			}
			table = s.key()
			s.record(table, line)
			s.skipLine()
			continue
		}
		k := table.key(s.key()...)
		s.record(k, line)
		s.skipSpaces()
		if s.peek() == '=' {
			s.i++
			s.value(k)
		}
		s.skipLine()
	}
}

// record notes the line of k and of every prefix not seen yet: a dotted key
// or header implicitly defines its parents there. Keys inside array elements
// are also recorded without their indexes, as toml lists them.
func (s *scanner) record(k keyPath, line int) {
	var plain keyPath
	for n := 1; n <= len(k); n++ {
		s.note(k[:n].String(), line)
		if !isIndex(k[n-1]) {
			plain = append(plain, k[n-1])
			s.note(plain.String(), line)
		}
	}
}

func (s *scanner) note(key string, line int) {
	if _, ok := s.lines[key]; !ok {
		s.lines[key] = line
	}
}

func (s *scanner) peek() byte {
	if s.i < len(s.src) {
		return s.src[s.i]
	}
	return 0
}

func (s *scanner) key() keyPath {
	var k keyPath
	for {
		s.skipSpaces()
		part, ok := s.keyPart()
		if !ok {
			return k
		}
		k = append(k, part)
		s.skipSpaces()
		if s.peek() != '.' {
			return k
		}
		s.i++
	}
}

func (s *scanner) keyPart() (string, bool) {
	switch s.peek() {
	case '"':
		raw := s.quoted('"')
		if u, err := strconv.Unquote(`"` + raw + `"`); err == nil {
			return u, true
		}
		return raw, true
	case '\'':
		return s.quoted('\''), true
	}
	start := s.i
	for s.i < len(s.src) && isBareKeyChar(s.src[s.i]) {
		s.i++
	}
	return s.src[start:s.i], s.i > start
}

func isBareKeyChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// quoted consumes a one-line string opened by q and returns its raw content.
func (s *scanner) quoted(q byte) string {
	s.i++
	start := s.i
	for s.i < len(s.src) && s.src[s.i] != q && s.src[s.i] != '\n' {
		if q == '"' && s.src[s.i] == '\\' {
			s.i++
		}
		s.i++
	}
	raw := s.src[start:min(s.i, len(s.src))]
	if s.peek() == q {
		s.i++
	}
	return raw
}

func (s *scanner) value(k keyPath) {
	s.skipSpaces()
	rest := s.src[s.i:]
	switch {
	case strings.HasPrefix(rest, `"""`):
		s.multiline(`"""`)
	case strings.HasPrefix(rest, `'''`):
		s.multiline(`'''`)
	case s.peek() == '"' || s.peek() == '\'':
		s.quoted(s.peek())
	case s.peek() == '{':
		s.inlineTable(k)
	case s.peek() == '[':
		s.array(k)
	default:
		s.scalar()
	}
}

func (s *scanner) multiline(delim string) {
	s.i += len(delim)
	for s.i < len(s.src) {
		switch c := s.src[s.i]; {
		case c == '\\' && delim[0] == '"':
			s.i++
			if s.peek() == '\n' {
				s.line++
			}
			s.i++
		case c == '\n':
			s.line++
			s.i++
		case strings.HasPrefix(s.src[s.i:], delim):
			s.i += len(delim)
			// Up to two more quotes belong to the content: """a""""" is `a""`.
			for extra := 0; extra < 2 && s.peek() == delim[0]; extra++ {
				s.i++
			}
			return
		default:
			s.i++
		}
	}
}

func (s *scanner) inlineTable(k keyPath) {
	s.i++
	for {
		s.skipBlank()
		switch s.peek() {
		case 0:
			return
		case '}':
			s.i++
			return
		case ',':
			s.i++
			continue
		}
		line := s.line
		kk := s.key()
		if len(kk) == 0 {
			s.i++ // not a key: step over it rather than loop
			continue
		}
		full := k.key(kk...)
		s.record(full, line)
		s.skipSpaces()
		if s.peek() == '=' {
			s.i++
			s.value(full)
		}
	}
}

func (s *scanner) array(k keyPath) {
	s.i++
	for n := 0; ; {
		s.skipBlank()
		switch s.peek() {
		case 0:
			return
		case ']':
			s.i++
			return
		case ',':
			s.i++
			continue
		}
		elem := k.index(n)
		s.record(elem, s.line)
		start := s.i
		s.value(elem)
		if s.i == start {
			s.i++
		}
		n++
	}
}

// scalar consumes a number, boolean or date-time; "1979-05-27 07:32:00" is
// one value despite its space.
func (s *scanner) scalar() {
	word := s.word()
	if len(word) == 10 && word[4] == '-' && word[7] == '-' &&
		s.peek() == ' ' && s.i+1 < len(s.src) && s.src[s.i+1] >= '0' && s.src[s.i+1] <= '9' {
		s.i++
		s.word()
	}
}

func (s *scanner) word() string {
	start := s.i
	for s.i < len(s.src) && !strings.ContainsRune(" \t\r\n,]}#", rune(s.src[s.i])) {
		s.i++
	}
	return s.src[start:s.i]
}

func (s *scanner) skipSpaces() {
	for s.i < len(s.src) && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

// skipBlank skips whitespace, newlines and comments.
func (s *scanner) skipBlank() {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case '\n':
			s.line++
			fallthrough
		case ' ', '\t', '\r':
			s.i++
		case '#':
			for s.i < len(s.src) && s.src[s.i] != '\n' {
				s.i++
			}
		default:
			return
		}
	}
}

// skipLine skips the rest of the current line: a table header's closing
// brackets, trailing comments, or whatever a value left behind.
func (s *scanner) skipLine() {
	for s.i < len(s.src) {
		c := s.src[s.i]
		s.i++
		if c == '\n' {
			s.line++
			return
		}
	}
}
