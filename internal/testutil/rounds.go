package testutil

import "testing"

// Contender is one path of a benchmark that alternates paths in rounds.
type Contender interface {
	Label() string
	Run(n int) error
}

// BenchRounds is how many rounds InRounds alternates the paths in, so
// that each sees the same share of whatever else the machine is doing.
const BenchRounds = 4

// InRounds shares b.N among the paths in BenchRounds rounds, each round
// starting one path further on, and times only that.
func InRounds[P Contender](b *testing.B, paths []P) {
	per := max(b.N/BenchRounds, 1)
	b.ResetTimer()
	for round := range BenchRounds {
		for i := range paths {
			p := paths[(i+round)%len(paths)]
			if err := p.Run(per); err != nil {
				b.Fatalf("%s: %v", p.Label(), err)
			}
		}
	}
	b.StopTimer()
}
