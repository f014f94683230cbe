package detail

import (
	"github.com/plugvisor/plugvisor/internal/ring"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/tui/render"
	"github.com/plugvisor/plugvisor/tui/state"
)

// hitMemo remembers, line by line, whether the search matches: a frame
// asks about every line of the buffer (to count, to find the next match),
// and a regular expression over 5,000 lines each frame would cost more than
// the rest of the frame. Lines are numbered by arrival, so the memo follows
// the ring: entries for evicted lines are dropped, new lines are matched
// once.
type hitMemo struct {
	first uint64 // seq of hits[0]
	hits  []bool
	n     int // how many of hits are true
}

// scanSlice bounds the text one sync matches: a new search over a full
// 4 MiB buffer is matched a slice per message, so a key is drawn at once
// and the count fills in over the next few messages.
const scanSlice = 256 << 10

// sync matches the lines that arrived since the last call, at most about
// budget bytes of them (all when budget <= 0), and forgets the ones the
// ring let go.
func (h *hitMemo) sync(logs *ring.Ring[supervisor.LogLine], q *search, budget int) {
	b := base(logs) + 1     // seq of ring index 0
	if q.mode == modeNone { // nothing to match: keep nothing
		*h = hitMemo{}
		return
	}
	if len(h.hits) == 0 || h.first > b {
		*h = hitMemo{first: b, hits: h.hits[:0]}
	}
	if drop := min(int(b-h.first), len(h.hits)); drop > 0 {
		for _, hit := range h.hits[:drop] {
			if hit {
				h.n--
			}
		}
		h.hits = h.hits[drop:]
		h.first = b
	}
	done := 0
	for i := len(h.hits); i < logs.Len() && (budget <= 0 || done < budget); i++ {
		text := logs.At(i).Text
		done += len(text)
		hit := q.hit(render.Sanitize(text))
		h.hits = append(h.hits, hit)
		if hit {
			h.n++
		}
	}
}

// at is whether ring index i matches; false for a line not matched yet.
func (h *hitMemo) at(i int) bool { return i < len(h.hits) && h.hits[i] }

// pending is how many lines of logs are still to match.
func (h *hitMemo) pending(logs *ring.Ring[supervisor.LogLine]) int {
	return max(logs.Len()-len(h.hits), 0)
}

// count is the number of lines that match.
func (h *hitMemo) count() int { return h.n }

// finder is where n and N are: the seq of the current match, 0 for none.
type finder struct{ cur uint64 }

// index is the ring index of the current match, or -1 when there is none
// or it left the buffer.
func (f *finder) index(logs *ring.Ring[supervisor.LogLine], h *hitMemo) int {
	if f.cur == 0 {
		return -1
	}
	i := int(int64(f.cur) - int64(base(logs)) - 1)
	if i < 0 || i >= logs.Len() || !h.at(i) {
		return -1
	}
	return i
}

// position is the current match's place among the matches, oldest first,
// from 1; 0 when there is no current match.
func (f *finder) position(logs *ring.Ring[supervisor.LogLine], h *hitMemo) int {
	i := f.index(logs, h)
	if i < 0 {
		return 0
	}
	n := 0
	for j := 0; j <= i; j++ {
		if h.at(j) {
			n++
		}
	}
	return n
}

// nearest is the match at or above ring index from, else the first below
// it; -1 when nothing matches.
func nearest(h *hitMemo, from int) int {
	for i := min(from, len(h.hits)-1); i >= 0; i-- {
		if h.hits[i] {
			return i
		}
	}
	for i := max(from+1, 0); i < len(h.hits); i++ {
		if h.hits[i] {
			return i
		}
	}
	return -1
}

// step is the next match after ring index i in direction dir (+1 newer,
// -1 older), wrapping around the buffer; -1 when nothing matches.
func step(h *hitMemo, i, dir int) int {
	n := len(h.hits)
	for k := 1; k <= n; k++ {
		j := ((i+dir*k)%n + n) % n
		if h.hits[j] {
			return j
		}
	}
	return -1
}

// findNearest makes the match nearest the view current and shows it: the
// search just typed jumps there.
func (v *logView) findNearest(p *state.Plugin) {
	v.prepare(p)
	if v.q.mode != modeFind {
		return
	}
	logs := p.Logs
	v.jump = v.hits.pending(logs) > 0
	from := v.find.index(logs, v.hits)
	if from < 0 {
		from = v.end(logs, v.match(logs))
	}
	v.reveal(logs, nearest(v.hits, from))
}

// findStep goes to the next (dir 1, newer) or previous (dir -1) match. It
// reports whether the search is one that n and N step through.
func (v *logView) findStep(p *state.Plugin, dir int) bool {
	v.prepare(p)
	if v.q.mode != modeFind {
		return false
	}
	logs := p.Logs
	i := v.find.index(logs, v.hits)
	if i < 0 {
		v.reveal(logs, nearest(v.hits, v.end(logs, v.match(logs))))
		return true
	}
	v.reveal(logs, step(v.hits, i, dir))
	return true
}

// reveal makes ring index i the current match and scrolls it to the middle
// of the view (or as near as the newest line allows); following stops, so
// the match stays where it is.
func (v *logView) reveal(logs *ring.Ring[supervisor.LogLine], i int) {
	if i < 0 {
		v.find.cur = 0
		return
	}
	v.find.cur = seqOf(logs, i)
	below := min(i+max(v.rows, 1)/2, logs.Len()-1)
	v.pin(logs, below, false)
}
