package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plugvisor/plugvisor/supervisor"
)

// supervisorMetric is one series of the supervisor itself, read off Info.
type supervisorMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(info *supervisor.Info) (v float64, ok bool)
}

func infoCounter(name, help string, f func(info *supervisor.Info) uint64) supervisorMetric {
	return supervisorMetric{
		desc: prometheus.NewDesc(name, help, nil, nil), kind: prometheus.CounterValue,
		value: func(info *supervisor.Info) (float64, bool) { return float64(f(info)), true },
	}
}

func supervisorMetrics() []supervisorMetric {
	return []supervisorMetric{
		infoCounter("plugvisor_events_dropped_total", "Events the engine dropped for slow subscribers, all subscribers together.",
			func(i *supervisor.Info) uint64 { return i.DroppedEvents }),
		infoCounter("plugvisor_event_bytes_dropped_total", "Estimated bytes of the events dropped for slow subscribers.",
			func(i *supervisor.Info) uint64 { return i.DroppedEventBytes }),
		infoCounter("plugvisor_refused_connections_total", "Plugin-socket connections refused before registering: not from an awaited process, or no valid hello.",
			func(i *supervisor.Info) uint64 { return i.RefusedConns }),
		infoCounter("plugvisor_shed_connections_total", "Plugin-socket connections closed beyond the bound on connections not yet registered.",
			func(i *supervisor.Info) uint64 { return i.ShedConns }),
		infoCounter("plugvisor_history_dropped_total", "Events and records the history let go of to stay within its byte budgets.",
			func(i *supervisor.Info) uint64 { return i.HistoryDropped }),
		infoCounter("plugvisor_history_bytes_dropped_total", "Estimated bytes of what the history let go of.",
			func(i *supervisor.Info) uint64 { return i.HistoryDroppedBytes }),
		infoCounter("plugvisor_watchdog_restarts_total", "Times the watchdog died and was started again.",
			func(i *supervisor.Info) uint64 { return uint64(max(i.WatchdogRestarts, 0)) }),
		{
			desc: prometheus.NewDesc("plugvisor_start_time_seconds", "When the supervisor started, in seconds since the Unix epoch.", nil, nil),
			kind: prometheus.GaugeValue,
			value: func(i *supervisor.Info) (float64, bool) {
				return float64(i.Started.UnixNano()) / 1e9, !i.Started.IsZero()
			},
		},
	}
}
