package supervisor

import (
	"context"
	"os"
	"time"
)

// sampler state of one instance, owned by the sampling goroutine.
type rateSample struct {
	at      time.Time
	records uint64
	ticks   int64
	pgid    int
}

// sample refreshes CPU, RSS and records/s of every instance periodically.
func (s *Supervisor) sample(ctx context.Context) {
	t := time.NewTicker(s.opts.StatsInterval)
	defer t.Stop()
	prev := map[*instance]rateSample{}
	page := int64(os.Getpagesize())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			prev = s.sampleOnce(now, prev, page)
		}
	}
}

func (s *Supervisor) sampleOnce(now time.Time, prev map[*instance]rateSample, page int64) map[*instance]rateSample {
	s.mu.RLock()
	order := s.order
	s.mu.RUnlock()
	groups := map[int]bool{}
	for _, in := range order {
		in.mu.Lock()
		if in.st.PGID > 0 {
			groups[in.st.PGID] = true
		}
		in.mu.Unlock()
	}
	usage := scanGroups(groups)
	next := make(map[*instance]rateSample, len(order))
	for _, in := range order {
		next[in] = in.updateRates(now, prev[in], usage, page)
	}
	return next
}

func (in *instance) updateRates(now time.Time, p rateSample, usage map[int]groupUsage, page int64) rateSample {
	st := in.status(now)
	u := usage[st.PGID]
	cur := rateSample{at: now, records: st.RecordsIn, ticks: u.ticks, pgid: st.PGID}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.st.RSS = u.rss * page
	in.st.CPUPercent, in.st.RecordsPerSec = 0, 0
	if p.at.IsZero() {
		return cur
	}
	dt := now.Sub(p.at).Seconds()
	if dt <= 0 {
		return cur
	}
	if cur.records >= p.records {
		in.st.RecordsPerSec = float64(cur.records-p.records) / dt
	}
	if cur.pgid == p.pgid && cur.pgid > 0 && cur.ticks >= p.ticks {
		in.st.CPUPercent = float64(cur.ticks-p.ticks) / clockTicks / dt * 100
	}
	return cur
}
