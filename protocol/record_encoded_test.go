package protocol_test

import (
	"errors"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/protocol"
)

// Records encoded ahead of time decode exactly as the same records sent in
// a Data message, the status included as one more field.
func TestEncodedDataDecodesAsData(t *testing.T) {
	fields := map[string]string{"data_type": "echo", "content": "hi", "n": "1"}
	var scratch []byte
	var enc []protocol.EncodedRecord
	want := []protocol.Record{
		{Timestamp: 1, Fields: fields},
		{Timestamp: 2, Token: "tok", Fields: withStatus(fields, protocol.StatusOK)},
	}
	for _, st := range []protocol.Status{"", protocol.StatusOK} {
		token := ""
		if st != "" {
			token = "tok"
		}
		r, s, err := protocol.EncodeRecord(scratch, int64(len(enc)+1), token, fields, st)
		if err != nil {
			t.Fatal(err)
		}
		scratch = s
		enc = append(enc, r)
	}
	payload, err := protocol.Append(nil, &protocol.EncodedData{Records: enc})
	if err != nil {
		t.Fatal(err)
	}
	m, err := protocol.Decode(payload)
	if err != nil {
		t.Fatal(err)
	}
	got := m.(*protocol.Data).Records
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
	plain, _ := protocol.Append(nil, &protocol.Data{Records: want[:1]})
	if n := len(plain) - len(mustAppend(t, &protocol.Data{})); enc[0].Len() != n {
		t.Errorf("Len %d, encoded in a Data message %d", enc[0].Len(), n)
	}
}

// EncodeRecord refuses what the peer's decoder would, with the same error
// code, and a status the fields already hold.
func TestEncodeRecordRefuses(t *testing.T) {
	many := map[string]string{"data_type": "d"}
	for i := len(many); i < protocol.MaxFieldsPerRecord; i++ {
		many["k"+strconv.Itoa(i)] = "v"
	}
	cases := map[string]struct {
		fields map[string]string
		status protocol.Status
		code   protocol.ErrorCode
		ok     bool
	}{
		"no data_type":          {map[string]string{"a": "b"}, "", protocol.ErrMissingField, false},
		"empty data_type":       {map[string]string{"data_type": ""}, "", protocol.ErrMalformed, false},
		"status given twice":    {map[string]string{"data_type": "d", "task_status": "ok"}, protocol.StatusOK, protocol.ErrMalformed, false},
		"too many with status":  {many, protocol.StatusOK, protocol.ErrMalformed, false},
		"at the bound, no more": {many, "", 0, true},
	}
	for name, tc := range cases {
		_, _, err := protocol.EncodeRecord(nil, 1, "t", tc.fields, tc.status)
		var perr *protocol.Error
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", name, err)
		case !tc.ok && (!errors.As(err, &perr) || perr.Code != tc.code):
			t.Errorf("%s: got %v, want code %s", name, err, tc.code)
		}
	}
}

func withStatus(f map[string]string, st string) map[string]string {
	out := maps.Clone(f)
	out[protocol.FieldTaskStatus] = st
	return out
}

func mustAppend(t *testing.T, m protocol.Message) []byte {
	t.Helper()
	b, err := protocol.Append(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The zero EncodedRecord is refused, not written as a record with nothing
// in it, which would break the frame for the peer.
func TestZeroEncodedRecordRefused(t *testing.T) {
	ok, _, err := protocol.EncodeRecord(nil, 1, "", map[string]string{"data_type": "x"}, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = protocol.Append(nil, &protocol.EncodedData{Records: []protocol.EncodedRecord{ok, {}}})
	var perr *protocol.Error
	if !errors.As(err, &perr) || !strings.Contains(err.Error(), "records[1]") {
		t.Fatalf("err = %v, want a protocol error naming records[1]", err)
	}
}
