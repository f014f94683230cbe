package sdk

import (
	"fmt"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/protocol"
)

// recordSize must never underestimate, or a batch could exceed the frame
// limit and the supervisor would drop the connection.
func TestRecordSizeBoundsEncoding(t *testing.T) {
	for _, n := range []int{0, 1, 31, 32, 255, 256, 65535, 65536} {
		rec := protocol.Record{
			Timestamp: -1 << 62,
			Token:     strings.Repeat("t", n%300),
			Fields:    map[string]string{"data_type": "x", strings.Repeat("k", n%40): strings.Repeat("v", n)},
		}
		one, err := protocol.Append(nil, &protocol.Data{Records: []protocol.Record{rec}})
		if err != nil {
			t.Fatal(err)
		}
		empty, _ := protocol.Append(nil, &protocol.Data{})
		if got, actual := recordSize(&rec), len(one)-len(empty); got < actual {
			t.Errorf("n=%d: recordSize %d < encoded %d", n, got, actual)
		}
		if len(empty) > dataOverhead {
			t.Errorf("frame overhead %d > dataOverhead %d", len(empty), dataOverhead)
		}
	}
}

func TestBatchesFitTheFrame(t *testing.T) {
	const maxFrame = 2048
	q := newQueue(1000, maxFrame)
	for i := range 300 {
		rec := protocol.Record{Timestamp: int64(i), Fields: map[string]string{"data_type": "d", "pad": strings.Repeat("p", i%200)}}
		if err := q.push(item{rec: rec, size: recordSize(&rec)}); err != nil {
			t.Fatal(err)
		}
	}
	q.close()
	total := 0
	for {
		batch := q.next(nil)
		if len(batch) == 0 {
			break
		}
		frame, err := protocol.Append(nil, &protocol.Data{Records: batch})
		if err != nil {
			t.Fatal(err)
		}
		if len(frame) > maxFrame {
			t.Fatalf("frame of %d bytes > %d", len(frame), maxFrame)
		}
		for i, r := range batch {
			if r.Timestamp != int64(total+i) {
				t.Fatalf("record %d out of order", total+i)
			}
		}
		total += len(batch)
	}
	if total != 300 {
		t.Errorf("%d records out, want 300", total)
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
