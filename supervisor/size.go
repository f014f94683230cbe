package supervisor

import "github.com/plugvisor/plugvisor/protocol"

// Memory estimates for byte budgets. They count what a value's strings take
// and what its maps and headers cost around them, erring high: a budget that
// is charged too much drops early, one charged too little is no bound.
const (
	sizeEvent   = 256 // an Event and its fixed parts, a LogLine or TaskEvent included
	sizeRecord  = 320 // a Record, its map header and first group
	sizeMapSlot = 80  // a further map entry: two string headers and its share of a group
)

// RecordSize estimates the memory one record holds.
func RecordSize(r *protocol.Record) int64 {
	n := int64(sizeRecord + len(r.Token))
	for k, v := range r.Fields {
		n += int64(sizeMapSlot + len(k) + len(v))
	}
	return n
}

// RecordsSize estimates the memory a batch of records holds.
func RecordsSize(recs []protocol.Record) int64 {
	var n int64
	for i := range recs {
		n += RecordSize(&recs[i])
	}
	return n
}

// Size estimates the memory an event holds: what a queue of events is
// charged for it. The engine measures an event once, when it publishes it,
// and every subscriber's queue reuses the figure.
func (e *Event) Size() int64 {
	if e.size > 0 {
		return e.size
	}
	return e.measure()
}

func (e *Event) measure() int64 {
	n := int64(sizeEvent + len(e.Plugin) + len(e.Instance) + len(e.Reason) + len(e.Log.Text) + len(e.Log.Instance))
	n += RecordsSize(e.Records)
	if x := e.Exit; x != nil {
		n += int64(sizeEvent/2 + len(x.Signal) + len(x.Reason) + len(x.Limit))
	}
	if l := e.SupervisorLog; l != nil {
		n += int64(len(l.Level) + len(l.Message) + len(l.Attrs))
	}
	if t := e.Task; t != nil {
		n += int64(len(t.Token) + len(t.Content) + len(t.Detail) + len(t.Reply.Error))
		n += RecordsSize(t.Reply.Records)
	}
	return n
}
