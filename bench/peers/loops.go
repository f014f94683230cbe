package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// payload is the task of every round trip: 64 bytes.
var payload = strings.Repeat("0123456789abcdef", 4)

// inFlight is the concurrency of the throughput metric.
const inFlight = 64

// call is one round trip of a contender: send payload, check the answer.
type call func(ctx context.Context) error

// sequential times n calls, one after the other.
func sequential(ctx context.Context, n int, f call) (result, error) {
	ds := make([]time.Duration, n)
	for i := range ds {
		t0 := time.Now()
		if err := f(ctx); err != nil {
			return result{}, err
		}
		ds[i] = time.Since(t0)
	}
	return result{Samples: ds}, nil
}

// concurrent makes n calls, inFlight at a time, and times them all.
func concurrent(ctx context.Context, n int, f call) (result, error) {
	var next atomic.Int64
	var once sync.Once
	var failed error
	var wg sync.WaitGroup
	t0 := time.Now()
	for range inFlight {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := f(ctx); err != nil {
					once.Do(func() { failed = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if failed != nil {
		return result{}, failed
	}
	return result{Count: n, Elapsed: time.Since(t0)}, nil
}

// spawnCycles times n of start → first successful call; stop is not timed.
func spawnCycles(ctx context.Context, n int, start func(ctx context.Context) (stop func() error, err error)) (result, error) {
	ds := make([]time.Duration, n)
	for i := range ds {
		t0 := time.Now()
		stop, err := start(ctx)
		ds[i] = time.Since(t0)
		if err != nil {
			return result{}, err
		}
		if err := stop(); err != nil {
			return result{}, fmt.Errorf("stop after spawn: %w", err)
		}
	}
	return result{Samples: ds}, nil
}

// echoed checks an answer.
func echoed(got string) error {
	if got != payload {
		return fmt.Errorf("echo answered %d bytes %.20q…, want the %d sent", len(got), got, len(payload))
	}
	return nil
}
