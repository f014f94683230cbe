package detail

import (
	"strings"

	"github.com/plugvisor/plugvisor/tui/render"
)

// level is the severity a log line says it has, for choosing how to draw a
// stderr line: programs log everything to stderr (slog's default handler
// does), so the stream alone does not make a line an error.
type level int

const (
	levelNone level = iota // the line does not say
	levelDebug
	levelInfo
	levelWarn
	levelError
)

// levelScan bounds how far into a line its level is looked for: a level
// sits near the start of every format recognised, and a line can be long.
const levelScan = 160

var levelWords = map[string]level{
	"trace": levelDebug, "debug": levelDebug, "dbg": levelDebug,
	"info": levelInfo, "inf": levelInfo, "notice": levelInfo,
	"warn": levelWarn, "warning": levelWarn, "wrn": levelWarn,
	"error": levelError, "err": levelError, "fatal": levelError, "panic": levelError,
	"crit": levelError, "critical": levelError, "alert": levelError, "emerg": levelError,
}

// levelOf finds the level of a line in the forms loggers write: logfmt and
// slog text (level=INFO), JSON ("level":"info"), a bracketed word ([info])
// or a bare upper-case word (INFO, as log and zap's console encoder write).
func levelOf(s string) level {
	if len(s) > levelScan {
		s = s[:levelScan]
	}
	if l := keyedLevel(s); l != levelNone {
		return l
	}
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && isLetter(s[j]) {
			j++
		}
		if j == i {
			i++
			continue
		}
		w := s[i:j]
		bracketed := i > 0 && s[i-1] == '[' && j < len(s) && s[j] == ']'
		if l, ok := levelWords[strings.ToLower(w)]; ok && (bracketed || isUpper(w)) && len(w) > 2 {
			return l
		}
		i = j
	}
	return levelNone
}

// keyedLevel reads the value of a level= or "level": key.
func keyedLevel(s string) level {
	for _, key := range []string{"level", "lvl", "severity"} {
		i := indexFoldWord(s, key)
		if i < 0 {
			continue
		}
		rest := strings.TrimLeft(s[i+len(key):], `"' `)
		if rest == "" || (rest[0] != '=' && rest[0] != ':') {
			continue
		}
		rest = strings.TrimLeft(rest[1:], `"' `)
		j := 0
		for j < len(rest) && isLetter(rest[j]) {
			j++
		}
		if l, ok := levelWords[strings.ToLower(rest[:j])]; ok {
			return l
		}
	}
	return levelNone
}

// indexFoldWord finds key in s, ignoring ASCII case, where it starts a word.
func indexFoldWord(s, key string) int {
	for off := 0; off < len(s); {
		i := render.IndexFold(s[off:], key)
		if i < 0 {
			return -1
		}
		i += off
		if i == 0 || !isLetter(s[i-1]) {
			return i
		}
		off = i + 1
	}
	return -1
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isUpper(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 'A' || w[i] > 'Z' {
			return false
		}
	}
	return true
}
