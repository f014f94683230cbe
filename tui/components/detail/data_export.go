package detail

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"time"

	"github.com/plugvisor/plugvisor/internal/private"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/tui/state"
)

// Source names the instance exported records come from.
type Source struct{ Plugin, Instance string }

// Shown is what the Data tab shows, oldest first: the table's records, or
// the list's that match the filter. src is zero when no plugin is shown.
// The records are values whose field maps nobody changes, so they can be
// written from another goroutine.
func (m *Model) Shown(s *state.Store) ([]state.Record, Source) {
	p := s.Plugin(m.shown)
	if p == nil {
		return nil, Source{}
	}
	match := m.data.match(p.Records)
	var out []state.Record
	for i := 0; i < p.Records.Len(); i++ {
		if match(i) {
			out = append(out, p.Records.At(i))
		}
	}
	return out, Source{Plugin: p.Status.Name, Instance: p.Status.Instance}
}

// Export writes recs to a new file at path, as JSON lines (format "json",
// each as headless mode writes records) or CSV ("csv", a header of the
// field names, time first). The file must not exist, and a symlink there
// is refused, so an export never overwrites anything nor writes through a
// planted link; it is 0600, records being whatever plugins sent. A failed
// export removes what it wrote. It returns how many records it wrote.
func Export(ctx context.Context, path, format string, src Source, recs []state.Record) (int, error) {
	f, err := private.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriter(f)
	var n int
	switch format {
	case "json":
		n, err = writeJSON(ctx, w, src, recs)
	case "csv":
		n, err = writeCSV(ctx, w, recs)
	default:
		err = fmt.Errorf("unknown format %q (json or csv)", format)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// jsonRecord is one exported line: headless mode's record format.
type jsonRecord struct {
	Time      time.Time         `json:"time"`
	Plugin    string            `json:"plugin"`
	Instance  string            `json:"instance"`
	Timestamp int64             `json:"timestamp"`
	Token     string            `json:"token,omitempty"`
	Fields    map[string]string `json:"fields"`
}

func writeJSON(ctx context.Context, w *bufio.Writer, src Source, recs []state.Record) (int, error) {
	enc := json.NewEncoder(w)
	for i, r := range recs {
		if err := ctx.Err(); err != nil {
			return i, err
		}
		if err := enc.Encode(jsonRecord{Time: r.Received, Plugin: src.Plugin, Instance: src.Instance,
			Timestamp: r.Timestamp, Token: r.Token, Fields: r.Fields}); err != nil {
			return i, err
		}
	}
	return len(recs), nil
}

// csvColumns are every field name among recs, data_type first.
func csvColumns(recs []state.Record) []string {
	seen := map[string]bool{}
	var names []string
	for _, r := range recs {
		for k := range r.Fields {
			if !seen[k] && k != protocol.FieldDataType {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	slices.Sort(names)
	return append([]string{"time", protocol.FieldDataType}, names...)
}

func writeCSV(ctx context.Context, w *bufio.Writer, recs []state.Record) (int, error) {
	cw := csv.NewWriter(w)
	cols := csvColumns(recs)
	if err := cw.Write(csvHeader(cols)); err != nil {
		return 0, err
	}
	row := make([]string, len(cols))
	for i, r := range recs {
		if err := ctx.Err(); err != nil {
			return i, err
		}
		row[0] = recordTime(r).Format(time.RFC3339Nano)
		for j, k := range cols[1:] {
			row[j+1] = csvCell(r.Fields[k])
		}
		if err := cw.Write(row); err != nil {
			return i, err
		}
	}
	cw.Flush()
	return len(recs), cw.Error()
}
