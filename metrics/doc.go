// Package metrics serves Prometheus metrics for a plugvisor engine over
// HTTP. The exporter is one more face of the engine: it reads Info and
// Snapshot through the operator API at each scrape, so every value is the
// engine's own at that moment, and subscribes to its events only for what
// events alone carry, the round trip of each finished task.
//
// It writes the Prometheus text exposition format itself rather than link
// client_golang, whose package init (a default registry with its Go and
// process collectors, procfs's expressions) every start of the plugvisor
// binary would pay: each ctl call and each demo plugin. The Go runtime's
// and the process's series keep client_golang's names. Label cardinality
// follows the configuration: one series set per configured instance,
// series of a plugin a reload removed go with it.
package metrics
