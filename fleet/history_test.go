package fleet

import (
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
)

// The fleet's merged history keeps the newest events within
// MaxFleetHistoryBytes and N, in time order, and gives their size.
func TestNewestHistory(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	at := time.Unix(1700000000, 0)
	var evs []supervisor.Event
	for i := range 40 { // 40 MiB, newest last once sorted
		evs = append(evs, supervisor.Event{Type: supervisor.EventLog, Time: at.Add(time.Duration(39-i) * time.Second), Log: supervisor.LogLine{Text: big}})
	}
	kept, size := newestHistory(evs, 0)
	if size > MaxFleetHistoryBytes || len(kept) == 0 || len(kept) >= 16 {
		t.Fatalf("kept %d events of %d bytes, bound %d", len(kept), size, MaxFleetHistoryBytes)
	}
	var sum int64
	for i := range kept {
		sum += kept[i].Size()
		if i > 0 && kept[i].Time.Before(kept[i-1].Time) {
			t.Fatalf("event %d out of time order", i)
		}
	}
	if sum != size || !kept[len(kept)-1].Time.Equal(at.Add(39*time.Second)) {
		t.Fatalf("size %d, want %d; newest %v", size, sum, kept[len(kept)-1].Time)
	}
	if kept, _ := newestHistory(kept, 3); len(kept) != 3 || !kept[2].Time.Equal(at.Add(39*time.Second)) {
		t.Fatalf("n=3 kept %d", len(kept))
	}
}
