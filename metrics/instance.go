package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plugvisor/plugvisor/supervisor"
)

// instanceLabels name every per-instance series.
func instanceLabels() []string { return []string{"plugin", "instance"} }

// states are the lifecycle states plugvisor_plugin_state has a series for,
// each instance one of each, so a query never meets a missing state.
func states() []supervisor.State {
	return []supervisor.State{
		supervisor.StateStopped, supervisor.StateStarting, supervisor.StateRunning, supervisor.StateStopping,
		supervisor.StateExited, supervisor.StateBackoff, supervisor.StateFailed,
	}
}

// instanceMetric is one series of an instance read off its status; ok false
// leaves it out of this scrape (no heartbeat yet, not running).
type instanceMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(st *supervisor.PluginStatus, now time.Time) (v float64, ok bool)
}

func always(f func(st *supervisor.PluginStatus) float64) func(*supervisor.PluginStatus, time.Time) (float64, bool) {
	return func(st *supervisor.PluginStatus, _ time.Time) (float64, bool) { return f(st), true }
}

func counter(name, help string, f func(st *supervisor.PluginStatus) uint64) instanceMetric {
	return instanceMetric{
		desc: prometheus.NewDesc(name, help, instanceLabels(), nil), kind: prometheus.CounterValue,
		value: always(func(st *supervisor.PluginStatus) float64 { return float64(f(st)) }),
	}
}

func gauge(name, help string, f func(st *supervisor.PluginStatus, now time.Time) (float64, bool)) instanceMetric {
	return instanceMetric{desc: prometheus.NewDesc(name, help, instanceLabels(), nil), kind: prometheus.GaugeValue, value: f}
}

// instanceMetrics are built when an exporter is, not at package init,
// which every start of the binary would pay.
func instanceMetrics() []instanceMetric {
	return []instanceMetric{
		gauge("plugvisor_plugin_up", "1 if the instance is running, else 0.",
			always(func(st *supervisor.PluginStatus) float64 { return bool01(st.State == supervisor.StateRunning) })),
		counter("plugvisor_plugin_restarts_total", "Times the instance was restarted.",
			func(st *supervisor.PluginStatus) uint64 { return uint64(max(st.Restarts, 0)) }),
		counter("plugvisor_plugin_records_total", "Data records received from the instance.",
			func(st *supervisor.PluginStatus) uint64 { return st.RecordsIn }),
		counter("plugvisor_plugin_frames_received_total", "Protocol frames received from the instance.",
			func(st *supervisor.PluginStatus) uint64 { return st.FramesIn }),
		counter("plugvisor_plugin_bytes_received_total", "Protocol bytes received from the instance.",
			func(st *supervisor.PluginStatus) uint64 { return st.BytesIn }),
		counter("plugvisor_plugin_frames_sent_total", "Protocol frames sent to the instance.",
			func(st *supervisor.PluginStatus) uint64 { return st.FramesOut }),
		counter("plugvisor_plugin_bytes_sent_total", "Protocol bytes sent to the instance.",
			func(st *supervisor.PluginStatus) uint64 { return st.BytesOut }),
		counter("plugvisor_plugin_tasks_sent_total", "Tasks sent to the instance.",
			func(st *supervisor.PluginStatus) uint64 { return st.TasksSent }),
		gauge("plugvisor_plugin_heartbeat_age_seconds", "Time since the running instance's last heartbeat answer.",
			func(st *supervisor.PluginStatus, now time.Time) (float64, bool) {
				if st.State != supervisor.StateRunning || st.LastHeartbeat.IsZero() {
					return 0, false
				}
				return max(now.Sub(st.LastHeartbeat), 0).Seconds(), true
			}),
		gauge("plugvisor_plugin_heartbeat_rtt_seconds", "Round trip of the instance's last heartbeat.",
			func(st *supervisor.PluginStatus, _ time.Time) (float64, bool) {
				return st.HeartbeatRTT.Seconds(), st.HeartbeatRTT > 0
			}),
		gauge("plugvisor_plugin_cpu_ratio", "CPU used by the instance's process group, as a fraction of one core.",
			always(func(st *supervisor.PluginStatus) float64 { return st.CPUPercent / 100 })),
		gauge("plugvisor_plugin_resident_memory_bytes", "Resident memory of the instance's process group.",
			always(func(st *supervisor.PluginStatus) float64 { return float64(st.RSS) })),
		gauge("plugvisor_plugin_in_flight_tasks", "Tasks sent to the instance and not yet ended.",
			always(func(st *supervisor.PluginStatus) float64 { return float64(st.InFlight) })),
		counter("plugvisor_plugin_oom_kills_total", "Processes of the instance OOM-killed at its memory_max, all runs.",
			func(st *supervisor.PluginStatus) uint64 { return st.OOMKills }),
		counter("plugvisor_plugin_pids_limit_hits_total", "Forks of the instance refused at its pids_max, all runs.",
			func(st *supervisor.PluginStatus) uint64 { return st.PidsLimitHits }),
		counter("plugvisor_plugin_log_writes_dropped_total", "Output writes of the instance lost to a refused or failing log file.",
			func(st *supervisor.PluginStatus) uint64 { return st.LogWritesDropped }),
		counter("plugvisor_plugin_reply_records_dropped_total", "Progress records of the instance's task replies not kept, beyond the per-task bounds.",
			func(st *supervisor.PluginStatus) uint64 { return st.ReplyRecordsDropped }),
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
