package protocol_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"slices"
	"testing"

	"github.com/plugvisor/plugvisor/protocol"
)

// The seed corpora live in testdata/fuzz/FuzzXxx/ and are generated with the
// specification (TestSpecGenerated -update): every example, every malformed
// case of the tests, and any crasher a fuzz run found.

// fuzzLimit is small so that the oversized path is easy to reach.
const fuzzLimit = 1 << 10

// FuzzReadFrame reads arbitrary bytes as a stream of frames: it never
// panics, never allocates a buffer beyond the limit, reports only protocol
// errors or io.EOF, and hands every payload it accepts to Decode.
func FuzzReadFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := bytes.NewReader(stream)
		var buf []byte
		for frames := 0; ; frames++ {
			payload, err := protocol.ReadFrame(r, buf, fuzzLimit)
			if err == io.EOF {
				if r.Len() != 0 {
					t.Fatalf("io.EOF with %d bytes unread", r.Len())
				}
				return
			}
			if err != nil {
				pe, ok := errors.AsType[*protocol.Error](err)
				if !ok || !(errors.Is(err, protocol.ErrZeroLength) || errors.Is(err, protocol.ErrFrameTooLarge) || errors.Is(err, protocol.ErrTruncated)) {
					t.Fatalf("frame %d: %T %v is not a framing error", frames, err, err)
				}
				_ = pe.Error()
				return
			}
			if len(payload) == 0 || len(payload) > fuzzLimit {
				t.Fatalf("frame %d: payload of %d bytes with a limit of %d", frames, len(payload), fuzzLimit)
			}
			if cap(payload) > max(fuzzLimit, protocol.MinReadBuffer) {
				t.Fatalf("frame %d: a buffer of %d bytes for a limit of %d", frames, cap(payload), fuzzLimit)
			}
			protocol.Decode(payload)
			buf = payload[:0]
		}
	})
}

// FuzzDecode decodes arbitrary payloads: it never panics, every error is a
// *protocol.Error with a named code, and whatever decodes re-encodes to
// bytes that decode to an equal message.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := protocol.Decode(payload)
		if err != nil {
			if !errorsIsProtocol(err) {
				t.Fatalf("%T %v is not a *protocol.Error with a named code", err, err)
			}
			return
		}
		again, err := protocol.Append(nil, m)
		if err != nil {
			t.Fatalf("decoded %s, which Append refuses: %v", goLiteral(m), err)
		}
		back, err := protocol.Decode(again)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", goLiteral(m), err)
		}
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip changed the message:\n%s\n%s", goLiteral(m), goLiteral(back))
		}
	})
}

// errorsIsProtocol reports whether err is a *protocol.Error with a named code.
func errorsIsProtocol(err error) bool {
	pe, ok := errors.AsType[*protocol.Error](err)
	return ok && slices.Contains(errorCodes(), pe.Code)
}
