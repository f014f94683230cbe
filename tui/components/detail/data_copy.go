package detail

import (
	"strconv"
	"strings"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/tui/state"
)

// Copy is what y copies from the tab shown: the selected record (Data) or
// round trip's reply (Tasks) as text, the last log line in view (Logs). It
// returns what it is, for the flash line, and the text; ok is false when
// the tab has nothing to copy, with why in what.
func (m *Model) Copy(s *state.Store) (what, text string, ok bool) {
	p := s.Plugin(m.shown)
	if p == nil {
		return "no plugin selected", "", false
	}
	switch m.Tab {
	case TabLogs:
		logs := p.Logs
		i := m.logs.end(logs, m.logs.match(logs))
		if i < 0 {
			return "no log line in view", "", false
		}
		return "log line", logs.At(i).Text, true
	case TabData:
		i := m.data.selected(p.Records, m.data.match(p.Records))
		if i < 0 {
			return "no record in view", "", false
		}
		return "record " + itoa(int(seqOf(p.Records, i))), recordText(p.Records.At(i)), true
	case TabTasks:
		ts, _ := s.Tasks(p.Status.Name)
		i := m.tasks.selected(ts, m.tasks.match(ts))
		if i < 0 {
			return "no round trip in view", "", false
		}
		t := ts.At(i)
		return "task " + strconv.FormatUint(uint64(t.ID), 10) + " reply", replyText(t), true
	}
	return "nothing to copy here: d describes the plugin, and y there copies a value", "", false
}

// recordText is a record's fields on one line, data_type first, a value
// quoted when it would not read back as one word.
func recordText(r state.Record) string {
	var parts []string
	if dt := r.DataType(); dt != "" {
		parts = append(parts, protocol.FieldDataType+"="+quoteValue(dt))
	}
	for _, k := range sortedKeys(r.Fields) {
		if k != protocol.FieldDataType {
			parts = append(parts, k+"="+quoteValue(r.Fields[k]))
		}
	}
	return strings.Join(parts, " ")
}

// replyText is a round trip's final reply record as text, or why it has
// none.
func replyText(t *state.Task) string {
	if t.Detail != "" {
		return t.Detail
	}
	if n := len(t.Reply.Records); n > 0 {
		return recordText(state.Record{Record: t.Reply.Records[n-1]})
	}
	return outcomeText(t.Outcome)
}

func quoteValue(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\n\"'=") {
		return strconv.Quote(v)
	}
	return v
}
