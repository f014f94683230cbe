package metrics

import "github.com/prometheus/client_golang/prometheus"

// fleetCollector reads the fleet link's state at each scrape.
type fleetCollector struct {
	stats   func() FleetStats
	metrics []fleetMetric
}

type fleetMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(s *FleetStats) float64
}

func newFleetCollector(stats func() FleetStats) *fleetCollector {
	m := func(name, help string, kind prometheus.ValueType, f func(s *FleetStats) float64) fleetMetric {
		return fleetMetric{desc: prometheus.NewDesc(name, help, nil, nil), kind: kind, value: f}
	}
	g, c := prometheus.GaugeValue, prometheus.CounterValue
	return &fleetCollector{stats: stats, metrics: []fleetMetric{
		m("plugvisor_fleet_connected", "1 if the fleet link is connected, else 0.", g,
			func(s *FleetStats) float64 { return bool01(s.Connected) }),
		m("plugvisor_fleet_spool_records", "Records waiting in the fleet link's spool.", g,
			func(s *FleetStats) float64 { return float64(s.SpoolRecords) }),
		m("plugvisor_fleet_spool_bytes", "Bytes waiting in the fleet link's spool.", g,
			func(s *FleetStats) float64 { return float64(s.SpoolBytes) }),
		m("plugvisor_fleet_records_published_total", "Records published on the fleet link.", c,
			func(s *FleetStats) float64 { return float64(s.Published) }),
		m("plugvisor_fleet_records_acked_total", "Records the fleet's server acknowledged.", c,
			func(s *FleetStats) float64 { return float64(s.Acked) }),
		m("plugvisor_fleet_records_retried_total", "Record publications retried.", c,
			func(s *FleetStats) float64 { return float64(s.Retried) }),
		m("plugvisor_fleet_records_dropped_total", "Records the fleet link dropped (spool full, or given up).", c,
			func(s *FleetStats) float64 { return float64(s.Dropped) }),
		m("plugvisor_fleet_record_bytes_dropped_total", "Bytes of the records the fleet link dropped.", c,
			func(s *FleetStats) float64 { return float64(s.DroppedBytes) }),
		m("plugvisor_fleet_events_published_total", "Lifecycle events published on the fleet link.", c,
			func(s *FleetStats) float64 { return float64(s.EventsPublished) }),
		m("plugvisor_fleet_events_dropped_total", "Lifecycle events the fleet link dropped.", c,
			func(s *FleetStats) float64 { return float64(s.EventsDropped) }),
	}}
}

func (f *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range f.metrics {
		ch <- m.desc
	}
}

func (f *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	s := f.stats()
	for _, m := range f.metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(&s))
	}
}
