package supervisor_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/examples/chaos"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// TestMegabyteProgressRecordsAreBudgeted: a task answered with hundreds of
// 1 MiB progress records keeps at most agent.task_reply_buffer of them, says
// how many it did not keep, and a healthy plugin beside it keeps its
// heartbeats and answers tasks; the supervisor's heap stays near the budget.
func TestMegabyteProgressRecordsAreBudgeted(t *testing.T) {
	const budget = 4 << 20
	var logs syncBuffer
	h := startHarness(t, plugin(t, "bulk", supervisortest.Bin("chaos"), `restart = "never"`)+plugin(t, "echo", supervisortest.Bin("echo"), ""),
		func(o *supervisor.Options) {
			o.Config.Agent.TaskReplyBuffer = budget
			o.Config.Agent.TaskTimeout = 2 * time.Minute
			o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			o.StatsInterval = 50 * time.Millisecond
		})
	h.WaitState("bulk", supervisor.StateRunning)
	before := h.WaitState("echo", supervisor.StateRunning)
	const n, size = 300, 1 << 20 // 300 MiB offered
	base := rssNow()
	peak := newHeapPeak()
	r, err := h.Sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "bulk", ID: chaos.TaskBulk, Content: fmt.Sprintf("%d:%d", n, size)})
	heap := peak.stop()
	if err != nil || r.Outcome != supervisor.OutcomeAnswered {
		t.Fatalf("bulk task: %+v, %v", r.Outcome, err)
	}
	var kept int64
	for _, rec := range r.Records {
		kept += supervisor.RecordSize(&rec)
	}
	final := r.Records[len(r.Records)-1]
	if kept > budget+supervisor.RecordSize(&final) || r.Dropped == 0 || r.Dropped+len(r.Records) != n+1 || r.DroppedBytes < int64(r.Dropped)*size {
		t.Fatalf("kept %d records (%d bytes), dropped %d (%d bytes); budget %d", len(r.Records), kept, r.Dropped, r.DroppedBytes, budget)
	}
	if final.Fields["count"] != strconv.Itoa(n) {
		t.Fatalf("the final record was not kept: %v", final.Fields)
	}
	st := h.Status("bulk")
	if st.ReplyRecordsDropped != uint64(r.Dropped) || st.ReplyBytesDropped != uint64(r.DroppedBytes) {
		t.Fatalf("status counts %d records, %d bytes dropped; the reply %d, %d", st.ReplyRecordsDropped, st.ReplyBytesDropped, r.Dropped, r.DroppedBytes)
	}
	// The log says so, with the counts, once a sampling interval.
	supervisortest.WaitUntil(t, "the drop report", 10*time.Second, func() bool {
		return strings.Contains(logs.String(), "dropped over a budget") && strings.Contains(logs.String(), "bulk.reply_records=")
	})
	// The bystander never missed a beat.
	echo := h.Status("echo")
	if echo.State != supervisor.StateRunning || echo.PID != before.PID || echo.Restarts != 0 {
		t.Fatalf("echo disturbed: %s pid %d→%d", echo.State, before.PID, echo.PID)
	}
	if r, err := h.Sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "still here"}); err != nil || !r.Outcome.OK() {
		t.Fatalf("echo after the flood: %+v, %v", r, err)
	}
	// The bytes went through (the bus's subscribers are budgeted too), but
	// the heap never held more than a few budgets' worth.
	grew := int64(heap) - int64(base)
	t.Logf("resident memory grew by %d MiB (peak %d MiB) while 300 MiB of progress records passed", grew>>20, heap>>20)
	if grew > 150<<20 {
		t.Fatalf("resident memory grew by %d MiB", grew>>20)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// heapPeak samples the test process's resident memory until stopped.
type heapPeak struct {
	done chan struct{}
	max  chan uint64
}

func newHeapPeak() *heapPeak {
	p := &heapPeak{done: make(chan struct{}), max: make(chan uint64, 1)}
	go func() {
		var peak uint64
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if v := rssNow(); v > peak {
				peak = v
			}
			select {
			case <-p.done:
				p.max <- peak
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *heapPeak) stop() uint64 { close(p.done); return <-p.max }

// rssNow is this process's resident memory, from /proc: what the kernel
// says, the supervisor's own heap included.
func rssNow() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
