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

// rates are what one sampling pass measured of an instance.
type rates struct {
	cpuPercent    float64 // whole process group, percent of one core
	rss           int64   // whole process group, bytes
	recordsPerSec float64
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
	views := make([]PluginStatus, len(order))
	groups := map[int]bool{}
	for i, in := range order {
		views[i] = in.status(now)
		if views[i].PGID > 0 {
			groups[views[i].PGID] = true
		}
	}
	usage := scanGroups(groups)
	next := make(map[*instance]rateSample, len(order))
	for i, in := range order {
		cur, r := measure(now, prev[in], views[i], usage[views[i].PGID], page)
		in.setRates(r)
		next[in] = cur
	}
	return next
}

// measure turns two samples of one instance into rates. A rate needs two
// samples of the same process group: across a restart the CPU counters of
// the new group say nothing about the interval.
func measure(now time.Time, p rateSample, st PluginStatus, u groupUsage, page int64) (rateSample, rates) {
	cur := rateSample{at: now, records: st.RecordsIn, ticks: u.ticks, pgid: st.PGID}
	r := rates{rss: u.rss * page}
	dt := now.Sub(p.at).Seconds()
	if p.at.IsZero() || dt <= 0 {
		return cur, r
	}
	if cur.records >= p.records {
		r.recordsPerSec = float64(cur.records-p.records) / dt
	}
	if cur.pgid == p.pgid && cur.pgid > 0 && cur.ticks >= p.ticks {
		r.cpuPercent = float64(cur.ticks-p.ticks) / clockTicks / dt * 100
	}
	return cur, r
}
