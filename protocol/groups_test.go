package protocol_test

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/protocol"
)

// Records share their strings' allocation in small groups; whatever the
// sizes, every record decodes to what was sent, a record larger than a
// group included, and tokens stay with their records.
func TestRecordsAcrossGroupsDecodeAsSent(t *testing.T) {
	var recs []protocol.Record
	for i := range 600 {
		f := map[string]string{"data_type": "t" + strconv.Itoa(i%7), "seq": strconv.Itoa(i)}
		switch i % 97 {
		case 13:
			f["big"] = strings.Repeat("x", 3000+i)
		case 50:
			f["empty"] = ""
		}
		r := protocol.Record{Timestamp: int64(i) - 300, Fields: f}
		if i%11 == 0 {
			r.Token = "tok-" + strconv.Itoa(i)
		}
		recs = append(recs, r)
	}
	payload, err := protocol.Append(nil, &protocol.Data{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	m, err := protocol.Decode(payload)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*protocol.Data).Records; !reflect.DeepEqual(got, recs) {
		t.Fatalf("decoded records differ from those sent")
	}
}

// A record's own fault is reported before a later record's, though the
// earlier one's strings were not yet made when the later one was read.
func TestEarlierRecordFaultFirst(t *testing.T) {
	later := omap{{"timestamp", 1}, {"fields", omap{{"data_type", 7}}}}
	p := enc(t, dataMap(recordMap("cpu"), recordMap(""), later))
	_, err := protocol.Decode(p)
	pe, ok := errors.AsType[*protocol.Error](err)
	if !ok || pe.Field != "records[1].fields.data_type" {
		t.Fatalf("got %v, want the empty data_type of records[1]", err)
	}
	p = enc(t, dataMap(recordMap("cpu"), recordMap("mem"), later))
	if _, err := protocol.Decode(p); err == nil || !strings.Contains(err.Error(), "records[2].fields.data_type") {
		t.Fatalf("got %v, want records[2]'s integer data_type", err)
	}
}
