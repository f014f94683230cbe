// Command peers measures plugvisor against its peers across real processes,
// in one run, interleaved: a raw Unix socket (the floor), plugvisor
// embedded, plugvisor's headless daemon through its control socket, and
// hashicorp/go-plugin over net/rpc and gRPC. It prints a markdown table per
// metric, each figure with its ratio to the floor, and the targets with
// PASS or MISS.
//
//	cd bench/peers && go run . [-rounds N] [-quick] [-json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/plugvisor/plugvisor/supervisor"
)

func main() {
	supervisor.RunWatchdogIfRequested()
	if kind := os.Getenv(workerEnv); kind != "" {
		os.Exit(workerMain(kind))
	}
	rounds := flag.Int("rounds", 0, "rounds of every metric (default 3, quick 2)")
	quick := flag.Bool("quick", false, "small sizes: every contender and metric in under a minute")
	asJSON := flag.Bool("json", false, "print the report as JSON instead of markdown")
	only := flag.String("only", "", "comma-separated metrics to run (rtt, inflight, spawn, records, idle); default all")
	records := flag.Int("records", 0, "records in one flood (default 200000, quick 20000)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sz := pickSizes(*quick, *rounds)
	if *records > 0 {
		sz.Records = *records
	}
	if *only != "" {
		sz.Only = strings.Split(*only, ",")
	}
	rep, err := run(ctx, sz, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return
	}
	writeMarkdown(os.Stdout, rep)
}

func pickSizes(quick bool, rounds int) sizes {
	switch {
	case quick && rounds == 0:
		return quickSizes(2)
	case quick:
		return quickSizes(rounds)
	case rounds == 0:
		return fullSizes(3)
	}
	return fullSizes(rounds)
}

// run builds the contenders, measures and reports.
func run(ctx context.Context, sz sizes, progress io.Writer) (*report, error) {
	fmt.Fprintln(progress, "building plugvisor, its example plugins, rawecho and the go-plugin echo…")
	b, err := build(ctx)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(b.Dir)
	m, err := drive(ctx, b, sz, progress)
	if err != nil {
		return nil, err
	}
	return buildReport(m), nil
}
