package supervisor

import "github.com/plugvisor/plugvisor/protocol"

// maxReplyRecords bounds what one task's reply keeps: a plugin streaming
// progress records for a task must not grow the supervisor without limit.
// The final record is always kept; progress beyond this is counted. The
// bytes kept are bounded too: per task by agent.task_reply_buffer, and for
// all of a session's tasks together by replySessionFactor times that.
const (
	maxReplyRecords    = 10_000
	replySessionFactor = 4
)

// keepLocked adds a record to p's reply if the budgets allow; the final
// record always goes in.
func (s *session) keepLocked(p *pendingTask, rec *protocol.Record, final bool) {
	n := RecordSize(rec)
	if !final && (len(p.records) >= maxReplyRecords || p.bytes+n > s.replyTask || s.replyHeld+n > s.replyAll) {
		p.dropped++
		p.dropB += n
		s.replyDropped.Add(1)
		s.replyDroppedBytes.Add(uint64(n))
		return
	}
	p.records = append(p.records, *rec)
	p.bytes += n
	s.replyHeld += n
}

// forgetLocked takes p out of pending, with what its reply holds.
func (s *session) forgetLocked(p *pendingTask) {
	delete(s.pending, p.task.Token)
	s.expiry.remove(p)
	s.replyHeld -= p.bytes
}
