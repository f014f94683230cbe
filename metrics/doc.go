// Package metrics serves Prometheus metrics for a plugvisor engine over
// HTTP. The exporter is one more face of the engine: it reads Info and
// Snapshot through the operator API at each scrape, so every value is the
// engine's own at that moment, and subscribes to its events only for what
// events alone carry, the round trip of each finished task.
//
// Everything is registered in a private registry: the process-wide default
// one is never used, so an embedding program's metrics and ours cannot
// collide. Label cardinality follows the configuration: one series set per
// configured instance, series of a plugin a reload removed go with it.
package metrics
