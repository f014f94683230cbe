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

// groupBytes is how many bytes of consecutive records share one string
// allocation: every key, value and token of a group is a slice of one copy
// of the group's bytes. A kept record keeps its whole group alive, so a
// group is small: a record pins at most groupBytes of its neighbours'
// strings (a record larger than that is a group of its own and pins only
// itself), whichever of a frame's records a subscriber keeps, for however
// long. Batches of small records still cost one string allocation per
// dozens of records instead of one each.
const groupBytes = 1024

// pendingRecord is a record whose timestamp is set and whose strings are
// still spans of the payload, waiting for its group's string.
type pendingRecord struct {
	i          int // its index in the frame
	f0, f1     int // its fields' spans: spans[f0:f1]
	tok0, tok1 int // its token's span; tok1 == 0 for none
}

type span struct{ k0, k1, v0, v1 int }

func (d *decoder) records(r *msgpack.Reader) ([]Record, error) {
	n, err := r.ArrayHeader()
	if err != nil || n == 0 {
		return nil, err
	}
	if n > MaxRecordsPerFrame {
		return nil, tooMany(KindData, "records", n, MaxRecordsPerFrame, "records")
	}
	recs := make([]Record, 0, min(n, r.Remaining()/minRecordSize+1))
	d.spans, d.pending = d.spans[:0], d.pending[:0]
	g := group{d: d, start: r.Pos}
	for i := range n {
		recs = append(recs, Record{})
		start := r.Pos
		p, err := d.scanRecord(r, &recs[i], i)
		if err != nil {
			// An earlier record's own fault comes first, as it would
			// had every record been checked as soon as it was read.
			if e := g.flush(r.Buf, recs); e != nil {
				return nil, e
			}
			return nil, err
		}
		if len(d.pending) > 0 && r.Pos-g.start > groupBytes {
			if e := g.flush(r.Buf, recs); e != nil {
				return nil, e
			}
			p = d.keepOnly(p)
			g.start = start
		}
		d.pending = append(d.pending, p)
		g.end = r.Pos
	}
	if e := g.flush(r.Buf, recs); e != nil {
		return nil, e
	}
	if cap(d.spans) > maxSpans {
		d.spans = nil
	}
	return recs, nil
}

// keepOnly drops the spans of the records just flushed, keeping p's, which
// were read after them.
func (d *decoder) keepOnly(p pendingRecord) pendingRecord {
	d.spans = append(d.spans[:0], d.spans[p.f0:p.f1]...)
	p.f0, p.f1 = 0, p.f1-p.f0
	return p
}

// group is the run of pending records that will share one string.
type group struct {
	d          *decoder
	start, end int // the run's bytes in the payload
}

// flush gives the pending records their strings, all slices of one copy of
// the group's bytes, and checks each; none is pending after.
func (g *group) flush(buf []byte, recs []Record) *Error {
	d := g.d
	defer func() { d.pending = d.pending[:0] }()
	if len(d.pending) == 0 {
		return nil
	}
	s, at := string(buf[g.start:g.end]), g.start
	for _, p := range d.pending {
		rec := &recs[p.i]
		if p.tok1 > 0 {
			rec.Token = s[p.tok0-at : p.tok1-at]
		}
		rec.Fields = make(map[string]string, min(p.f1-p.f0, maxFieldsHint))
		for _, sp := range d.spans[p.f0:p.f1] {
			rec.Fields[s[sp.k0-at:sp.k1-at]] = s[sp.v0-at : sp.v1-at]
		}
		if e := checkRecord(rec, p.i); e != nil {
			return e
		}
	}
	return nil
}

// scanRecord reads records[i]: its timestamp into rec, its token and fields
// as spans of the payload, checked for shape and bounds but not yet copied.
func (d *decoder) scanRecord(r *msgpack.Reader, rec *Record, i int) (pendingRecord, error) {
	p := pendingRecord{i: i, f0: len(d.spans)}
	n, err := r.MapHeader()
	if err != nil {
		return p, errorf(ErrMalformed, KindData, recordField(i, ""), "%v", err)
	}
	var haveTS, haveFields bool
	for j := 0; j < n; j++ {
		key, err := r.StrBytes()
		if err != nil {
			return p, errorf(ErrMalformed, KindData, recordField(i, ""), "key %d: %v", j, err)
		}
		switch string(key) {
		case "timestamp":
			rec.Timestamp, err = r.Int()
			haveTS = true
		case "token":
			if !r.IsNil() {
				var l int
				p.tok0, l, err = r.StrSpan()
				p.tok1 = p.tok0 + l
			}
		case "fields":
			haveFields = true
			if err := d.fieldSpans(r, i); err != nil {
				return p, err
			}
		default:
			err = r.Skip()
		}
		if err != nil {
			return p, errorf(ErrMalformed, KindData, recordField(i, pathKey(key)), "%v", err)
		}
	}
	switch {
	case !haveTS:
		return p, missing(KindData, recordField(i, "timestamp"))
	case !haveFields:
		return p, missing(KindData, recordField(i, "fields"))
	}
	p.f1 = len(d.spans)
	return p, nil
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
