package detail

// list is a newest-first selection over a bounded ring whose items are
// numbered by arrival (seq = Total-Len+index). sel is the seq of the
// selected item, or 0 to stay on the newest as items arrive. Items that do
// not match the filter are skipped.
type list struct {
	sel    uint64
	offset int // rows between the newest match and the top of the window
}

// buffer is what a list needs of a ring.
type buffer interface {
	Len() int
	Total() uint64
}

func base(r buffer) uint64 { return r.Total() - uint64(r.Len()) }

// selected returns the ring index of the selected item, or -1 when nothing
// matches. A selected item pushed out of the ring selects the oldest match.
func (l *list) selected(r buffer, match func(int) bool) int {
	if l.sel != 0 {
		i := int(int64(l.sel) - int64(base(r)) - 1)
		if i >= 0 && i < r.Len() && match(i) {
			return i
		}
		if i < 0 {
			for j := 0; j < r.Len(); j++ {
				if match(j) {
					return j
				}
			}
			return -1
		}
	}
	for j := r.Len() - 1; j >= 0; j-- {
		if match(j) {
			return j
		}
	}
	return -1
}

func seqOf(r buffer, i int) uint64 { return base(r) + uint64(i) + 1 }

// move goes n matches older (n > 0) or newer (n < 0). Reaching the newest
// resumes following.
func (l *list) move(r buffer, match func(int) bool, n int) {
	i := l.selected(r, match)
	if i < 0 {
		return
	}
	step := -1 // older is a lower index
	if n < 0 {
		step, n = 1, -n
	}
	for j := i + step; n > 0 && j >= 0 && j < r.Len(); j += step {
		if match(j) {
			i = j
			n--
		}
	}
	l.sel = seqOf(r, i)
	if newest := l.newest(r, match); newest == i {
		l.sel = 0
	}
}

func (l *list) newest(r buffer, match func(int) bool) int {
	for j := r.Len() - 1; j >= 0; j-- {
		if match(j) {
			return j
		}
	}
	return -1
}

// oldest selects the oldest match.
func (l *list) oldest(r buffer, match func(int) bool) {
	for j := 0; j < r.Len(); j++ {
		if match(j) {
			l.sel = seqOf(r, j)
			if l.newest(r, match) == j {
				l.sel = 0
			}
			return
		}
	}
}

// window returns the ring indices of up to rows matches, newest first,
// keeping the selected one in view, and the selected index.
func (l *list) window(r buffer, match func(int) bool, rows int) (idx []int, sel int) {
	sel = l.selected(r, match)
	if sel < 0 || rows <= 0 {
		return nil, -1
	}
	// Position of sel among matches, counted from the newest.
	pos := 0
	for j := r.Len() - 1; j > sel; j-- {
		if match(j) {
			pos++
		}
	}
	if pos < l.offset {
		l.offset = pos
	}
	if pos >= l.offset+rows {
		l.offset = pos - rows + 1
	}
	skip := l.offset
	for j := r.Len() - 1; j >= 0 && len(idx) < rows; j-- {
		if !match(j) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		idx = append(idx, j)
	}
	return idx, sel
}

// count is the number of matches.
func count(r buffer, match func(int) bool) int {
	n := 0
	for j := 0; j < r.Len(); j++ {
		if match(j) {
			n++
		}
	}
	return n
}
