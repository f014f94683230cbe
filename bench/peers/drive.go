package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// measurements are every result, by metric and entry key, round after
// round; idle by worker and plugin count.
type measurements struct {
	Sizes sizes
	Notes []string
	Runs  map[string]map[string][]result
	Idle  map[string]map[int][]result
}

// drive runs every metric, interleaved: in each round every contender
// takes its turn at each metric (A B C D, A B C D, …), so what else loads
// the machine falls on all alike. A first round, not kept, warms up each
// path (the verifier's first hash, lazy connections, the heap).
func drive(ctx context.Context, b *bins, sz sizes, progress io.Writer) (m *measurements, err error) {
	m = &measurements{Sizes: sz, Runs: map[string]map[string][]result{}, Idle: map[string]map[int][]result{}}
	workers := map[string]*worker{}
	defer func() {
		for _, k := range workerKinds {
			if w := workers[k]; w != nil {
				err = errors.Join(err, w.close())
			}
		}
	}()
	var ms []metric
	needed := map[string]bool{}
	for _, mt := range metrics() {
		if !sz.runs(mt.Key) {
			continue
		}
		ms = append(ms, mt)
		for _, e := range mt.Entries {
			needed[e.Worker] = true
		}
	}
	for _, k := range workerKinds {
		if !needed[k] {
			continue
		}
		w, err := startWorker(ctx, k, b)
		if err != nil {
			return nil, err
		}
		workers[k] = w
		m.Notes = append(m.Notes, w.notes...)
	}
	for round := -1; round < sz.Rounds; round++ {
		fmt.Fprintf(progress, "round %d/%d:", round+1, sz.Rounds)
		for _, mt := range ms {
			fmt.Fprintf(progress, " %s", mt.Key)
			n := mt.n(sz)
			if round < 0 {
				n = max(n/10, 1)
			}
			var cpus []string
			for _, e := range mt.Entries {
				r, err := workers[e.Worker].do(command{Op: e.Op, N: n})
				if err != nil {
					return nil, err
				}
				if round >= 0 {
					m.add(mt.Key, e.Key, r)
				}
				if mt.Key == "records" {
					cpus = append(cpus, fmt.Sprintf("%s %.2f%%", e.Key, cpuPer100k([]result{r})))
				}
			}
			if cpus != nil { // each round's own figures, for ranges across rounds
				fmt.Fprintf(progress, " (CPU per 100k rec/s: %s)", strings.Join(cpus, ", "))
			}
		}
		fmt.Fprintln(progress)
	}
	if !sz.runs("idle") {
		return m, nil
	}
	return m, m.driveIdle(ctx, b, progress)
}

func (m *measurements) add(metric, key string, r result) {
	if m.Runs[metric] == nil {
		m.Runs[metric] = map[string][]result{}
	}
	m.Runs[metric][key] = append(m.Runs[metric][key], r)
}

// driveIdle measures each plugin count with each contender in a fresh
// worker, so that threads left by a larger fleet are not counted.
func (m *measurements) driveIdle(ctx context.Context, b *bins, progress io.Writer) error {
	sz := m.Sizes
	for round := range sz.IdleRounds {
		fmt.Fprintf(progress, "idle round %d/%d:", round+1, sz.IdleRounds)
		for _, n := range sz.Idle {
			for _, k := range idleKinds {
				fmt.Fprintf(progress, " %s×%d", k.Worker, n)
				r, err := idleOnce(ctx, b, k.Worker, command{Op: "idle", N: n, Settle: sz.IdleSettle, Measure: sz.IdleMeasure})
				if err != nil {
					return err
				}
				if m.Idle[k.Worker] == nil {
					m.Idle[k.Worker] = map[int][]result{}
				}
				m.Idle[k.Worker][n] = append(m.Idle[k.Worker][n], r)
			}
		}
		fmt.Fprintln(progress)
	}
	return nil
}

func idleOnce(ctx context.Context, b *bins, kind string, c command) (result, error) {
	w, err := startWorker(ctx, kind, b)
	if err != nil {
		return result{}, err
	}
	r, err := w.do(c)
	return r, errors.Join(err, w.close())
}
