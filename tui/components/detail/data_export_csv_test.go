package detail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"slices"
	"testing"

	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/tui/state"
)

// TestCSVCellsSafe: a cell a spreadsheet would run as a formula (= + - @,
// tab, CR first) is prefixed with ', control characters are escaped, and a
// field named time keeps its own column beside the record's time.
func TestCSVCellsSafe(t *testing.T) {
	recs := []state.Record{{Record: protocol.Record{Timestamp: 1, Fields: map[string]string{
		"data_type": "=cmd|' /C calc'!A0", "a": "+1", "b": "-2", "c": "@SUM(A1)", "d": "\tx", "e": "\rx",
		"f": "ok\x1b[31mred\u009b", "time": "plugin's", "=h": "plain",
	}}}}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if _, err := writeCSV(context.Background(), w, recs); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows: %v", len(rows), err)
	}
	head := []string{"time", "data_type", "'=h", "a", "b", "c", "d", "e", "f", "time_"}
	if !slices.Equal(rows[0], head) {
		t.Errorf("header %q, want %q", rows[0], head)
	}
	want := []string{rows[1][0], "'=cmd|' /C calc'!A0", "plain", "'+1", "'-2", "'@SUM(A1)", "'\tx", `'\rx`, `ok\x1b[31mred\u009b`, "plugin's"}
	if !slices.Equal(rows[1], want) {
		t.Errorf("row %q, want %q", rows[1], want)
	}
}
