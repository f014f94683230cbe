package supervisor

import (
	"fmt"
	"strings"
)

// limitExit says when the kernel, not the plugin, ended a run: an OOM kill
// at memory_max, forks refused at pids_max. The counts go into the status
// whatever the exit says, so a limit hit by a child is seen too.
func (in *instance) limitExit(p *process, e Exit) Exit {
	oom, pids := p.stats.OOMKills, p.stats.PidsMaxHits
	if oom == 0 && pids == 0 {
		return e
	}
	lim := in.config().Limits
	in.mu.Lock()
	in.st.OOMKills += uint64(oom)
	in.st.PidsLimitHits += uint64(pids)
	in.mu.Unlock()
	var notes []string
	if oom > 0 {
		at := ""
		if lim.MemoryMax > 0 {
			at = fmt.Sprintf(" (memory_max %s)", lim.MemoryMax)
		}
		if e.Signal == "killed" {
			e.Reason = "killed: out of memory" + at
		} else {
			notes = append(notes, fmt.Sprintf("%d process(es) killed: out of memory%s", oom, at))
		}
	}
	if pids > 0 {
		notes = append(notes, fmt.Sprintf("pids_max %d reached: %d fork(s) refused", lim.PidsMax, pids))
	}
	if len(notes) > 0 {
		e.Reason += "; " + strings.Join(notes, "; ")
	}
	e.Limit = "pids_max"
	if oom > 0 {
		e.Limit = "memory_max"
	}
	return e
}

// cgroupUsage reads the current process's cgroup usage, which includes
// its children, setsid ones too; ok is false without a cgroup. A group
// that cannot be read shows zero rather than sending the sample to /proc.
func (in *instance) cgroupUsage(page int64) (groupUsage, bool) {
	in.mu.Lock()
	p := in.proc
	in.mu.Unlock()
	if p == nil || p.group == nil {
		return groupUsage{}, false
	}
	cpu, mem, err := p.group.Usage(page)
	if err != nil {
		return groupUsage{}, true
	}
	return groupUsage{cpu: cpu, rss: mem}, true
}
