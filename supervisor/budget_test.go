package supervisor_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/examples/chaos"
	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// TestMegabyteProgressRecordsAreBudgeted: a task answered with hundreds of
// 1 MiB progress records keeps at most agent.task_reply_buffer of them, says
// how many it did not keep, and a healthy plugin beside it keeps its
// heartbeats and answers tasks; the supervisor's heap stays near the budget.
func TestMegabyteProgressRecordsAreBudgeted(t *testing.T) {
	const budget = 4 << 20
	var logs testutil.SyncBuffer
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

// TestMillionRecordFrame: one data frame of a million tiny records (32 MB
// under a 64 MiB max_frame) is refused at its header, before the records are
// built: the plugin's session ends, the supervisor's memory barely moves, and
// the plugin beside it goes on.
func TestMillionRecordFrame(t *testing.T) {
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), "")+
		plugin(t, "bad", self(), `restart = "never"`+"\nenv = { PV_TEST_ROLE = \"millionrecords\" }"),
		func(o *supervisor.Options) {
			o.Config.Agent.MaxFrame = 64 << 20
			// Reading 32 MB under -race on a loaded machine may take more
			// than the harness's 1 s: this test is not about hangs.
			o.Config.Agent.HeartbeatTimeout = 30 * time.Second
		})
	h.WaitState("echo", supervisor.StateRunning)
	// Allocations, not resident memory: reading the 32 MB frame costs its
	// bytes (as max_frame allows), and -race inflates what they occupy;
	// building the million records would cost ten times more.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	st := h.WaitState("bad", supervisor.StateExited)
	runtime.ReadMemStats(&after)
	if !strings.Contains(st.Reason, "1000000 records, at most 16384") {
		t.Fatalf("reason %q", st.Reason)
	}
	const frame = 32 << 20
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d MiB reading a %d MiB frame of a million records", allocated>>20, frame>>20)
	if allocated > 3*frame {
		t.Fatalf("allocated %d MiB", allocated>>20)
	}
	if r, err := h.Sup.SendTask(context.Background(), supervisor.TaskRequest{Plugin: "echo", ID: 1, Content: "still here"}); err != nil || !r.Outcome.OK() {
		t.Fatalf("echo after the frame: %+v, %v", r, err)
	}
}

// TestStrangerFlood: 10,000 connections from a process that is no plugin,
// each sending only a 4 MiB length prefix, are refused unread; the
// supervisor's memory barely moves and a real plugin registers afterwards.
func TestStrangerFlood(t *testing.T) {
	h := startHarness(t, plugin(t, "echo", supervisortest.Bin("echo"), ""))
	h.WaitState("echo", supervisor.StateRunning)
	sock := filepath.Join(h.Dir, "plugvisor.sock")
	base := rssNow()
	peak := newHeapPeak()
	const conns, workers = 10_000, 16
	var wg sync.WaitGroup
	var refused atomic.Int64
	for w := range workers {
		wg.Go(func() {
			for range conns / workers {
				c, err := net.Dial("unix", sock)
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
				_, _ = c.Write([]byte{0, 0x40, 0, 0})
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if m, err := protocol.NewConn(c, protocol.Options{}).Recv(); err == nil {
					if rej, ok := m.(*protocol.Reject); ok && rej.Code == protocol.RejectCredentials {
						refused.Add(1)
					}
				}
				c.Close()
			}
		})
	}
	wg.Wait()
	top := peak.stop()
	if refused.Load() != conns {
		t.Fatalf("%d of %d refused with a reason", refused.Load(), conns)
	}
	grew := int64(top) - int64(base)
	t.Logf("resident memory grew by %d MiB over %d stranger connections", grew>>20, conns)
	if grew > 100<<20 {
		t.Fatalf("resident memory grew by %d MiB", grew>>20)
	}
	if info := supervisortest.InfoOf(t, h.Sup); info.RefusedConns != conns {
		t.Fatalf("refused connections %d, want %d", info.RefusedConns, conns)
	}
	if err := h.Sup.Restart(context.Background(), "echo"); err != nil {
		t.Fatalf("echo cannot register after the flood: %v", err)
	}
}

// TestPlantedLogSymlink: a symlink planted where a plugin's log file goes
// (the plugin's own directory) is not followed: the file it points at is
// untouched, the lost writes are counted, the plugin runs on.
func TestPlantedLogSymlink(t *testing.T) {
	h := startHarness(t, plugin(t, "noisy", supervisortest.Bin("chaos"), `auto_start = false`+"\n"+`args = ["--stderr-every", "10ms"]`))
	target := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(target, []byte("root:secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := h.Status("noisy")
	if err := os.Symlink(target, st.StderrLog); err != nil {
		t.Fatal(err)
	}
	if err := h.Sup.Start(context.Background(), "noisy"); err != nil {
		t.Fatal(err)
	}
	supervisortest.WaitUntil(t, "lost log writes counted", 10*time.Second, func() bool { return h.Status("noisy").LogWritesDropped > 0 })
	if data, err := os.ReadFile(target); err != nil || string(data) != "root:secret\n" {
		t.Fatalf("the symlink's target was written: %q, %v", data, err)
	}
	if lines, _ := h.Sup.Logs(context.Background(), "noisy", 10); len(lines) == 0 {
		t.Fatal("the lines were lost from memory too")
	}
	if got := h.Status("noisy"); got.State != supervisor.StateRunning {
		t.Fatalf("noisy is %s: %s", got.State, got.Reason)
	}
}
