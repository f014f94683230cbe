package protocol

// EncodedRecord is a record already in its wire form. A sender that queues
// records before framing them (the SDK) encodes each once, when it is made,
// instead of copying the caller's map to encode it later: the map may be
// reused as soon as EncodeRecord returns. Only EncodeRecord makes one, so
// what EncodedData carries is always a record the peer accepts.
type EncodedRecord struct {
	b []byte
}

// Len is the record's encoded size in bytes, what it adds to a Data frame.
func (r EncodedRecord) Len() int { return len(r.b) }

// Status is the optional task_status EncodeRecord adds to the fields; the
// zero value adds nothing.
type Status string

// EncodeRecord checks a record as the peer's decoder will, appends its wire
// form to dst and returns it with dst grown. The record shares dst's array,
// so many records can live in one allocation: append to the returned dst
// freely, but never write over what it held. A non-empty status is written
// as the task_status field, which fields must then not hold.
func EncodeRecord(dst []byte, timestamp int64, token string, fields map[string]string, status Status) (EncodedRecord, []byte, error) {
	if e := checkFields(fields, status); e != nil {
		return EncodedRecord{}, dst, refuse(e)
	}
	at := len(dst)
	dst = appendRecordBody(dst, timestamp, token, fields, status)
	return EncodedRecord{b: dst[at:len(dst):len(dst)]}, dst, nil
}

// checkFields is checkRecord for a record whose fields are a map and a
// status beside it.
func checkFields(fields map[string]string, status Status) *Error {
	n := len(fields)
	if status != "" {
		if _, dup := fields[FieldTaskStatus]; dup {
			return errorf(ErrMalformed, KindData, recordField(0, "fields."+FieldTaskStatus), "given twice")
		}
		n++
	}
	if n > MaxFieldsPerRecord {
		return tooMany(KindData, recordField(0, "fields"), n, MaxFieldsPerRecord, "fields")
	}
	rec := Record{Fields: fields}
	return checkRecord(&rec, 0)
}

// EncodedData is a Data frame of records encoded ahead of time; it has the
// same wire form as Data and decodes as one.
type EncodedData struct {
	Records []EncodedRecord
}

func (*EncodedData) Kind() Kind { return KindData }
