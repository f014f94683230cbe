package fleet

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/internal/jsontext"
	"github.com/plugvisor/plugvisor/protocol"
)

// A spooled record is one blob, so the spool's byte budget is what the
// record costs: its subject, message id, instance, token and timestamp in
// a small header, then the body as it goes on the wire.
//
//	u8 version | u16 len, subject | u16 len, msg id | u16 len, instance |
//	u16 len, token | i64 timestamp | body
const blobVersion = 1

// recordEncoder turns records into spool blobs, reusing its scratch.
type recordEncoder struct {
	subjects Subjects
	fields   jsontext.Fields
	idPrefix []byte // "<host>.<run>." : a message id is this and a counter
	next     uint64 // the counter of the next record's id
	id, buf  []byte
}

// blob encodes one record of plugin's instance into a slice of its own:
// the spool keeps it as it is, and charges its capacity.
func (e *recordEncoder) blob(plugin, instance string, r *protocol.Record) []byte {
	b := append(e.buf[:0], blobVersion)
	b = appendStr16(b, e.subjects.Records(plugin, r.DataType()))
	e.id = strconv.AppendUint(append(e.id[:0], e.idPrefix...), e.next, 10)
	e.next++
	b = appendStr16(b, e.id)
	b = appendStr16(b, instance)
	b = appendStr16(b, r.Token)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Timestamp))
	b = e.fields.Append(b, r.Fields)
	e.buf = b
	return append(make([]byte, 0, len(b)), b...)
}

// appendStr16 writes a length-prefixed string; what reaches here is bounded
// by the engine (instance ids, tokens, subjects of cut tokens) well below
// 64 KiB, and a longer one is cut rather than corrupting the blob.
func appendStr16[S string | []byte](b []byte, s S) []byte {
	if len(s) > 0xFFFF {
		s = s[:0xFFFF]
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

var errBlob = errors.New("fleet: corrupt spooled record")

// message decodes a blob into the message it is published as. The
// header's strings are copied: a blob's storage is the spool's.
func message(blob []byte) (*nats.Msg, error) {
	if len(blob) < 1 || blob[0] != blobVersion {
		return nil, errBlob
	}
	rest := blob[1:]
	var strs [4]string
	for i := range strs {
		if len(rest) < 2 {
			return nil, errBlob
		}
		n := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+n {
			return nil, errBlob
		}
		strs[i] = string(rest[2 : 2+n])
		rest = rest[2+n:]
	}
	if len(rest) < 8 {
		return nil, errBlob
	}
	ts := int64(binary.BigEndian.Uint64(rest))
	h := nats.Header{
		nats.MsgIdHdr:   {strs[1]},
		HeaderInstance:  {strs[2]},
		HeaderTimestamp: {strconv.FormatInt(ts, 10)},
	}
	if strs[3] != "" {
		h[HeaderToken] = []string{strs[3]}
	}
	return &nats.Msg{Subject: strs[0], Header: h, Data: append([]byte(nil), rest[8:]...)}, nil
}
