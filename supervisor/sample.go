package supervisor

import (
	"context"
	"log/slog"
	"os"
	"time"
)

// sampler state of one instance, owned by the sampling goroutine.
type rateSample struct {
	at      time.Time
	records uint64
	cpu     time.Duration
	pgid    int
}

// rates are what one sampling pass measured of an instance.
type rates struct {
	cpuPercent    float64 // the cgroup's (or the process group's), percent of one core
	rss           int64   // the cgroup's memory (or the process group's RSS), bytes
	recordsPerSec float64
}

// sample refreshes CPU, RSS and records/s of every instance periodically.
func (s *Supervisor) sample(ctx context.Context) {
	t := time.NewTicker(s.opts.StatsInterval)
	defer t.Stop()
	prev := map[*instance]rateSample{}
	page := int64(os.Getpagesize())
	var drops dropTally
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			var views []PluginStatus
			prev, views = s.sampleOnce(now, prev, page)
			drops.report(s.log, s, views)
		}
	}
}

// dropTally is what had been dropped over budgets at the last report.
type dropTally struct {
	events, eventBytes uint64
	perInstance        map[string][3]uint64 // reply records, reply bytes, log writes
}

// report logs what was dropped since the last call, if anything: one line a
// sampling interval (a second by default) however much is lost, so a flood
// of drops costs the log a line a second.
func (d *dropTally) report(log *slog.Logger, s *Supervisor, views []PluginStatus) {
	events, bytes := s.bus.droppedTotal()
	var args []any
	if events > d.events {
		args = append(args, "subscriber_events", events-d.events, "subscriber_bytes", bytes-d.eventBytes)
	}
	d.events, d.eventBytes = events, bytes
	if d.perInstance == nil {
		d.perInstance = map[string][3]uint64{}
	}
	for _, v := range views {
		now := [3]uint64{v.ReplyRecordsDropped, v.ReplyBytesDropped, v.LogWritesDropped}
		was := d.perInstance[v.Instance]
		if now[0] > was[0] {
			args = append(args, v.Instance+".reply_records", now[0]-was[0], v.Instance+".reply_bytes", now[1]-was[1])
		}
		if now[2] > was[2] {
			args = append(args, v.Instance+".log_writes", now[2]-was[2])
		}
		d.perInstance[v.Instance] = now
	}
	if len(args) > 0 {
		log.Warn("dropped over a budget since the last report; the supervisor and the plugins go on", args...)
	}
}

func (s *Supervisor) sampleOnce(now time.Time, prev map[*instance]rateSample, page int64) (map[*instance]rateSample, []PluginStatus) {
	s.mu.RLock()
	order := s.order
	s.mu.RUnlock()
	views := make([]PluginStatus, len(order))
	groups := map[int]bool{}
	fromCgroup := make([]groupUsage, len(order))
	for i, in := range order {
		views[i] = in.status(now)
		if u, ok := in.cgroupUsage(page); ok {
			fromCgroup[i] = u
		} else if views[i].PGID > 0 {
			groups[views[i].PGID] = true
		}
	}
	usage := scanGroups(groups, page)
	next := make(map[*instance]rateSample, len(order))
	for i, in := range order {
		u, ok := usage[views[i].PGID]
		if !ok {
			u = fromCgroup[i]
		}
		cur, r := measure(now, prev[in], views[i], u)
		in.setRates(r)
		next[in] = cur
	}
	return next, views
}

// measure turns two samples of one instance into rates. A rate needs two
// samples of the same process group: across a restart the CPU counters of
// the new group say nothing about the interval.
func measure(now time.Time, p rateSample, st PluginStatus, u groupUsage) (rateSample, rates) {
	cur := rateSample{at: now, records: st.RecordsIn, cpu: u.cpu, pgid: st.PGID}
	r := rates{rss: u.rss}
	dt := now.Sub(p.at).Seconds()
	if p.at.IsZero() || dt <= 0 {
		return cur, r
	}
	if cur.records >= p.records {
		r.recordsPerSec = float64(cur.records-p.records) / dt
	}
	if cur.pgid == p.pgid && cur.pgid > 0 && cur.cpu >= p.cpu {
		r.cpuPercent = (cur.cpu - p.cpu).Seconds() / dt * 100
	}
	return cur, r
}
