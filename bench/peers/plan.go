package main

import (
	"slices"
	"time"
)

// sizes are how much each measurement does in one round.
type sizes struct {
	Rounds      int           `json:"rounds"`
	IdleRounds  int           `json:"idle_rounds"`
	RTT         int           `json:"rtt"`      // sequential round trips
	InFlight    int           `json:"inflight"` // tasks, 64 in flight
	Spawn       int           `json:"spawn"`    // spawn → ready cycles
	Records     int           `json:"records"`  // records in one flood
	Idle        []int         `json:"idle"`     // plugin counts, ascending
	IdleSettle  time.Duration `json:"idle_settle"`
	IdleMeasure time.Duration `json:"idle_measure"`
	Only        []string      `json:"only,omitempty"` // the metrics to run; all when empty
}

// runs says whether metric key is among those to run.
func (s sizes) runs(key string) bool { return len(s.Only) == 0 || slices.Contains(s.Only, key) }

func fullSizes(rounds int) sizes {
	return sizes{Rounds: rounds, IdleRounds: rounds, RTT: 3000, InFlight: 30000, Spawn: 15, Records: 200_000,
		Idle: []int{10, 100, 500}, IdleSettle: 3 * time.Second, IdleMeasure: 5 * time.Second}
}

// quickSizes exercise every contender and every op in well under a minute.
func quickSizes(rounds int) sizes {
	return sizes{Rounds: rounds, IdleRounds: 1, RTT: 200, InFlight: 2000, Spawn: 3, Records: 20_000,
		Idle: []int{2, 4, 8}, IdleSettle: 300 * time.Millisecond, IdleMeasure: time.Second}
}

// entry is one contender in one metric: which worker, which op.
type entry struct {
	Key    string // unique within the metric
	Label  string
	Worker string
	Op     string
}

// metric is a measurement made of every entry in turn, round after round.
type metric struct {
	Key     string
	Entries []entry
	n       func(sizes) int
}

var (
	rawE      = entry{"raw", "raw Unix socket", "raw", ""}
	embeddedE = entry{"embedded", "plugvisor embedded", "embedded", ""}
	daemonE   = entry{"daemon", "plugvisor headless, control socket", "daemon", ""}
	netrpcE   = entry{"gp-netrpc", "go-plugin net/rpc", "gp-netrpc", ""}
	grpcE     = entry{"gp-grpc", "go-plugin gRPC", "gp-grpc", ""}
)

// workerKinds are the long-lived workers, one per contender.
var workerKinds = []string{"raw", "embedded", "daemon", "gp-netrpc", "gp-grpc"}

func withOp(op string, es ...entry) []entry {
	out := make([]entry, len(es))
	for i, e := range es {
		e.Op = op
		out[i] = e
	}
	return out
}

func metrics() []metric {
	all := []entry{rawE, embeddedE, daemonE, netrpcE, grpcE}
	pipelined := withOp("inflight", all...)
	pipelined[0].Label = "raw Unix socket, pipelined"
	records := withOp("records", rawE, embeddedE, daemonE)
	records[1].Label = "plugvisor embedded, API subscriber"
	records[2].Label = "plugvisor headless, control-socket subscriber (+ its JSON lines)"
	records = append(records, entry{"daemon-json", "plugvisor headless, JSON lines on stdout", "daemon", "records-json"})
	return []metric{
		{"rtt", withOp("rtt", all...), func(s sizes) int { return s.RTT }},
		{"inflight", pipelined, func(s sizes) int { return s.InFlight }},
		{"spawn", withOp("spawn", all...), func(s sizes) int { return s.Spawn }},
		{"records", records, func(s sizes) int { return s.Records }},
	}
}

// idleKinds are the contenders of the idle test, each in a fresh worker
// per measurement.
var idleKinds = []struct{ Worker, Label string }{
	{"idle-plugvisor", "plugvisor embedded"},
	// The same with a heartbeat every 10 s: what the 1 s default costs,
	// against a peer that has none (go-plugin finds no hang).
	{"idle-plugvisor-hb10", "plugvisor embedded, heartbeat 10 s"},
	{"idle-goplugin", "go-plugin net/rpc"},
}
