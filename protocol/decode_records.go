package protocol

import "github.com/plugvisor/plugvisor/internal/msgpack"

func (d *decoder) decodeData(r *msgpack.Reader, n int) (*Data, error) {
	m := &Data{}
	var have bool
	err := fields(r, n, KindData, func(key []byte) (bool, error) {
		if string(key) != "records" {
			return false, nil
		}
		have = true
		var err error
		m.Records, err = d.records(r)
		return true, err
	})
	if err == nil && !have {
		err = missing(KindData, "records")
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// minRecordSize is the fewest bytes a valid record can take: fixmap header,
// "timestamp" and a fixint, "fields", a fixmap header, "data_type" and a
// one-byte value (1+10+1+7+1+10+2). The records slice is sized by the bytes
// that remain rather than by the array header alone, so a lying header cannot
// make the decoder allocate more Records than the frame could hold.
const minRecordSize = 32

// maxFieldsHint caps the map size taken on trust from a record's header; a
// record with more distinct fields still decodes, its map just grows.
const maxFieldsHint = 64

// maxSpans is how much span scratch a decoder keeps between frames; a rare
// record with thousands of fields does not pin its scratch for the life of
// the connection.
const maxSpans = 1024

func (d *decoder) records(r *msgpack.Reader) ([]Record, error) {
	n, err := r.ArrayHeader()
	if err != nil || n == 0 {
		return nil, err
	}
	if n > MaxRecordsPerFrame {
		return nil, tooMany(KindData, "records", n, MaxRecordsPerFrame, "records")
	}
	recs := make([]Record, 0, min(n, r.Remaining()/minRecordSize+1))
	for i := range n {
		recs = append(recs, Record{})
		if err := d.record(r, &recs[i], i); err != nil {
			return nil, err
		}
	}
	if cap(d.spans) > maxSpans {
		d.spans = nil
	}
	return recs, nil
}

// record decodes one record with a single string allocation: every key and
// value is a slice of one copy of the record's bytes. The copy covers only
// this record, so keeping a record never pins the rest of its frame.
func (d *decoder) record(r *msgpack.Reader, rec *Record, i int) error {
	start := r.Pos
	n, err := r.MapHeader()
	if err != nil {
		return errorf(ErrMalformed, KindData, recordField(i, ""), "%v", err)
	}
	d.spans = d.spans[:0]
	tok0, tok1 := 0, 0
	var haveTS, haveFields bool
	for j := 0; j < n; j++ {
		key, err := r.StrBytes()
		if err != nil {
			return errorf(ErrMalformed, KindData, recordField(i, ""), "key %d: %v", j, err)
		}
		switch string(key) {
		case "timestamp":
			rec.Timestamp, err = r.Int()
			haveTS = true
		case "token":
			if !r.IsNil() {
				var l int
				tok0, l, err = r.StrSpan()
				tok1 = tok0 + l
			}
		case "fields":
			haveFields = true
			if err := d.fieldSpans(r, i); err != nil {
				return err
			}
		default:
			err = r.Skip()
		}
		if err != nil {
			return errorf(ErrMalformed, KindData, recordField(i, pathKey(key)), "%v", err)
		}
	}
	switch {
	case !haveTS:
		return missing(KindData, recordField(i, "timestamp"))
	case !haveFields:
		return missing(KindData, recordField(i, "fields"))
	}
	s := string(r.Buf[start:r.Pos])
	if tok1 > 0 {
		rec.Token = s[tok0-start : tok1-start]
	}
	rec.Fields = make(map[string]string, min(len(d.spans), maxFieldsHint))
	for _, sp := range d.spans {
		rec.Fields[s[sp.k0-start:sp.k1-start]] = s[sp.v0-start : sp.v1-start]
	}
	// Not return checkRecord(...): a nil *Error is a non-nil error.
	if e := checkRecord(rec, i); e != nil {
		return e
	}
	return nil
}

// fieldSpans records where each key and value of a record's fields map lie;
// its errors name the field, e.g. records[2].fields.host.
func (d *decoder) fieldSpans(r *msgpack.Reader, i int) error {
	n, err := r.MapHeader()
	if err != nil {
		return errorf(ErrMalformed, KindData, recordField(i, "fields"), "%v", err)
	}
	if n > MaxFieldsPerRecord {
		return tooMany(KindData, recordField(i, "fields"), n, MaxFieldsPerRecord, "fields")
	}
	for j := 0; j < n; j++ {
		k0, kl, err := r.StrSpan()
		if err != nil {
			return errorf(ErrMalformed, KindData, recordField(i, "fields"), "key %d: %v", j, err)
		}
		v0, vl, err := r.StrSpan()
		if err != nil {
			return errorf(ErrMalformed, KindData, recordField(i, "fields."+pathKey(r.Buf[k0:k0+kl])), "%v", err)
		}
		d.spans = append(d.spans, span{k0, k0 + kl, v0, v0 + vl})
	}
	return nil
}
