package sdk

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// testItem encodes a record as the sink does.
func testItem(t testing.TB, ts int64, token string, fields map[string]string) item {
	t.Helper()
	rec, _, err := protocol.EncodeRecord(nil, ts, token, fields, "")
	if err != nil {
		t.Fatal(err)
	}
	return item{rec: rec, task: token != ""}
}

// frameOf is batch's frame payload and its records as the supervisor reads them.
func frameOf(t testing.TB, batch []protocol.EncodedRecord) ([]byte, []protocol.Record) {
	t.Helper()
	frame, err := protocol.Append(nil, &protocol.EncodedData{Records: batch})
	if err != nil {
		t.Fatal(err)
	}
	m, err := protocol.Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	return frame, m.(*protocol.Data).Records
}

// takeAll hands out every frame's worth, as the writer does.
func takeAll(q *queue, each func(batch []protocol.EncodedRecord)) {
	for {
		batch := q.next(nil)
		if len(batch) == 0 {
			return
		}
		each(batch)
		q.wrote(len(batch))
	}
}

func TestDataOverheadBoundsTheFrame(t *testing.T) {
	empty, _ := protocol.Append(nil, &protocol.EncodedData{})
	if len(empty) > dataOverhead {
		t.Errorf("frame overhead %d > dataOverhead %d", len(empty), dataOverhead)
	}
}

func TestBatchesFitTheFrame(t *testing.T) {
	const maxFrame = 2048
	q := newQueue(1000, defaultQueueBytes, maxFrame)
	for i := range 300 {
		if err := q.push(testItem(t, int64(i), "", map[string]string{"data_type": "d", "pad": strings.Repeat("p", i%200)})); err != nil {
			t.Fatal(err)
		}
	}
	q.close()
	total := 0
	takeAll(q, func(batch []protocol.EncodedRecord) {
		frame, recs := frameOf(t, batch)
		if len(frame) > maxFrame {
			t.Fatalf("frame of %d bytes > %d", len(frame), maxFrame)
		}
		for i, r := range recs {
			if r.Timestamp != int64(total+i) {
				t.Fatalf("record %d out of order", total+i)
			}
		}
		total += len(batch)
	})
	if total != 300 {
		t.Errorf("%d records out, want 300", total)
	}
}

// A frame carries at most about maxBatchBytes of records, so one send never
// holds the connection's write lock for long; a larger record goes alone.
func TestBatchesCappedBelowFrameLimit(t *testing.T) {
	q := newQueue(1000, defaultQueueBytes, protocol.DefaultMaxFrame)
	push := func(i, pad int) {
		t.Helper()
		if err := q.push(testItem(t, int64(i), "", map[string]string{"data_type": "d", "pad": strings.Repeat("p", pad)})); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		push(i, 10<<10)
	}
	push(100, 300<<10) // over the batch cap, under the frame limit
	push(101, 10)
	q.close()
	var sizes []int
	takeAll(q, func(batch []protocol.EncodedRecord) {
		frame, recs := frameOf(t, batch)
		if len(batch) > 1 && len(frame) > maxBatchBytes {
			t.Errorf("frame of %d records is %d bytes, over the %d-byte batch cap", len(batch), len(frame), maxBatchBytes)
		}
		if len(recs[0].Fields["pad"]) == 300<<10 && len(batch) != 1 {
			t.Errorf("the large record shares its frame with %d others", len(batch)-1)
		}
		sizes = append(sizes, len(batch))
	})
	if len(sizes) < 5 {
		t.Errorf("batch sizes %v: 1 MiB of records should take several frames", sizes)
	}
}

// Emit's backpressure applies when the queued bytes reach their bound, not
// only the record count.
func TestQueueBoundedByBytes(t *testing.T) {
	const byteLimit = 10_000
	q := newQueue(1000, byteLimit, protocol.DefaultMaxFrame)
	mk := func(pad int) item {
		return testItem(t, 1, "", map[string]string{"data_type": "d", "pad": strings.Repeat("p", pad)})
	}
	one := mk(2000)
	n := 0
	for ; (n+1)*one.size() <= byteLimit; n++ {
		if err := q.push(one); err != nil {
			t.Fatal(err)
		}
	}
	pushed := make(chan error, 1)
	go func() { pushed <- q.push(one) }()
	select {
	case err := <-pushed:
		t.Fatalf("push beyond %d bytes (%d records queued) did not block: %v", byteLimit, n, err)
	case <-time.After(50 * time.Millisecond):
	}
	// The SDK's immediate replies do not wait.
	if err := q.pushNow(mk(10)); err != nil {
		t.Fatalf("pushNow on a full queue: %v", err)
	}
	if batch := q.next(nil); len(batch) == 0 {
		t.Fatal("nothing to take")
	}
	if err := <-pushed; err != nil {
		t.Fatalf("push after room was made: %v", err)
	}

	// A record larger than the bound still goes into an empty queue.
	q = newQueue(1000, byteLimit, protocol.DefaultMaxFrame)
	if err := q.push(mk(3 * byteLimit)); err != nil {
		t.Fatal(err)
	}
}

// During shutdown the queue refuses plain records at once but still takes
// task records until it closes.
func TestQueueRefusesPlainRecordsFirst(t *testing.T) {
	q := newQueue(10, defaultQueueBytes, protocol.DefaultMaxFrame)
	plain := testItem(t, 1, "", map[string]string{"data_type": "d"})
	reply := testItem(t, 1, "t", map[string]string{"data_type": "d"})
	q.refusePlain()
	if err := q.push(plain); err != ErrShutdown {
		t.Errorf("plain push after refusePlain = %v, want ErrShutdown", err)
	}
	if err := q.push(reply); err != nil {
		t.Errorf("task record after refusePlain = %v, want accepted", err)
	}
	q.close()
	if err := q.push(reply); err != ErrShutdown {
		t.Errorf("task record after close = %v, want ErrShutdown", err)
	}
	if batch := q.next(nil); len(batch) != 1 {
		t.Errorf("%d records handed out after close, want the 1 queued", len(batch))
	}
}

func TestBuildVersion(t *testing.T) {
	if v := buildVersion(); v == "" {
		t.Error("empty build version")
	}
}

func TestExitCodes(t *testing.T) {
	for err, want := range map[error]int{
		nil:             ExitOK,
		fmt.Errorf("x"): ExitError,
		fmt.Errorf("wrapped: %w", &RejectedError{}): ExitRejected,
		&ConnLostError{Err: fmt.Errorf("eof")}:      ExitConnLost,
		&PanicError{Value: 1}:                       ExitPanic,
		ParseArgs(nil, []string{"stray"}):           ExitUsage,
	} {
		if got := ExitCode(err); got != want {
			t.Errorf("ExitCode(%v) = %d, want %d", err, got, want)
		}
	}
}

// TestQueuedRecordsShareChunks: records encoded one at a time, with
// collections between them (a slow emitter, whose chunks a pool would
// lose), fill one chunk after another, so what waits in the queue keeps
// alive about its own bytes, as the byte limit promises, and not a 16 KiB
// chunk per record.
func TestQueuedRecordsShareChunks(t *testing.T) {
	const n = 300 // about 40 bytes each: one chunk holds them all
	q := newQueue(n, 1<<20, protocol.DefaultMaxFrame)
	fields := map[string]string{"data_type": "slow", "n": "0"}
	total := 0
	for i := range n {
		runtime.GC()
		rec, err := q.encode(int64(i), "", fields, "")
		if err != nil {
			t.Fatal(err)
		}
		total += rec.Len()
		if err := q.push(item{rec: rec}); err != nil {
			t.Fatal(err)
		}
	}
	if total > chunkSize-chunkReserve {
		t.Fatalf("the records take %d bytes, more than one chunk: fix the test", total)
	}
	if len(q.chunk) != total {
		t.Fatalf("the chunk holds %d bytes of the %d the queued records take: they do not share it", len(q.chunk), total)
	}
}
