package supervisor

// recordsEventSize is what measure says of a records event whose records
// were decoded from a frame of payload bytes, or a little more: every key,
// value and token is among the frame's bytes, so the frame's length stands
// for their sum, and only each map's entry count, which is O(1), is read.
// It errs high by the frame's framing bytes, as budgets may (size.go), and
// spares the engine a walk of every record's map.
func recordsEventSize(e *Event, payload int) int64 {
	n := int64(sizeEvent + len(e.Plugin) + len(e.Instance) + payload)
	for i := range e.Records {
		n += int64(sizeRecord + sizeMapSlot*len(e.Records[i].Fields))
	}
	return n
}
