package protocol_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/plugvisor/plugvisor/protocol"
)

// badStream is a byte stream whose first frame every receiver must refuse.
type badStream struct {
	name   string
	stream []byte
	limit  int // the receiver's MaxFrame; 0 means the default
	code   protocol.ErrorCode
	want   string // the error text must contain it
}

// checkBadStreams runs a class of bad streams through ReadFrame and, over a
// real socket shared with a healthy connection, through a Conn.
func checkBadStreams(t *testing.T, cases []badStream) {
	s := newServer(t)
	h := newHealthy(t, s)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := protocol.ReadFrame(bytes.NewReader(c.stream), nil, c.limit)
			checkProtocolError(t, err, c.code, "", c.want)
			if serr := refuseStream(t, s, h, c.stream, protocol.Options{MaxFrame: c.limit}); serr.Error() != err.Error() {
				t.Errorf("over a socket: %v\nfrom ReadFrame: %v", serr, err)
			}
		})
	}
}

func pingFrame(t testing.TB) []byte {
	return exampleFrame(t, &protocol.Ping{Seq: 1, Time: exampleTime})
}

func zeroLengthStreams(t testing.TB) []badStream {
	return []badStream{
		{"zero length", lengthPrefix(0), 0, protocol.ErrZeroLength, "protocol: zero-length frame: length prefix is 0"},
		{"zero length with bytes after", append(lengthPrefix(0), pingFrame(t)...), 0, protocol.ErrZeroLength, "length prefix is 0"},
	}
}

func TestZeroLengthFrame(t *testing.T) { checkBadStreams(t, zeroLengthStreams(t)) }

func oversizedStreams(t testing.TB) []badStream {
	ping := pingFrame(t)
	return []badStream{
		{"oversized: limit+1", lengthPrefix(protocol.DefaultMaxFrame + 1), 0, protocol.ErrFrameTooLarge, "length prefix 4194305 exceeds the limit of 4194304 bytes"},
		{"oversized: 0xFFFFFFFF", lengthPrefix(0xFFFFFFFF), 0, protocol.ErrFrameTooLarge, "length prefix 4294967295 exceeds the limit of 4194304 bytes"},
		{"oversized: a real frame over a small limit", ping, 16, protocol.ErrFrameTooLarge,
			fmt.Sprintf("length prefix %d exceeds the limit of 16 bytes", len(ping)-protocol.HeaderSize)},
	}
}

func TestOversizedFrame(t *testing.T) { checkBadStreams(t, oversizedStreams(t)) }

// TestOversizedFrameAllocatesNothing: a length prefix of 4 GiB is refused
// before anything near that size is allocated.
func TestOversizedFrameAllocatesNothing(t *testing.T) {
	stream := lengthPrefix(0xFFFFFFFF)
	r := bytes.NewReader(stream)
	read := func() {
		r.Reset(stream)
		protocol.ReadFrame(r, nil, protocol.DefaultMaxFrame)
	}
	// A few small allocations build the error; none is for the payload.
	if n := testing.AllocsPerRun(100, read); n > 6 {
		t.Errorf("ReadFrame made %.0f allocations refusing the frame, want at most 6 (the error)", n)
	}
	if b := allocatedBytes(100, read); b > 1024 {
		t.Errorf("ReadFrame allocated %d bytes refusing a 4 GiB frame", b)
	}

	// The same through a Conn on a real socket.
	client, srv := connPair(t, protocol.Options{ReadTimeout: hangGuard})
	raw := client.NetConn()
	if _, err := raw.Write(stream); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := srv.Recv()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, protocol.ErrFrameTooLarge) {
		t.Fatalf("Recv: %v, want ErrFrameTooLarge", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
		t.Errorf("Recv allocated %d bytes refusing a 4 GiB frame", grew)
	}
}

func truncatedHeaderStreams(t testing.TB) []badStream {
	var cases []badStream
	for n := 1; n < protocol.HeaderSize; n++ {
		cases = append(cases, badStream{fmt.Sprintf("truncated header: %d byte(s)", n), pingFrame(t)[:n], 0, protocol.ErrTruncated,
			fmt.Sprintf("protocol: truncated frame: stream ended after %d of 4 length bytes", n)})
	}
	return cases
}

func TestTruncatedHeader(t *testing.T) { checkBadStreams(t, truncatedHeaderStreams(t)) }

func truncatedPayloadStreams(t testing.TB) []badStream {
	ping := pingFrame(t)
	size := len(ping) - protocol.HeaderSize
	var cases []badStream
	for _, got := range []int{0, 1, size / 2, size - 1} {
		cases = append(cases, badStream{fmt.Sprintf("truncated payload: %d of %d bytes", got, size), ping[:protocol.HeaderSize+got], 0, protocol.ErrTruncated,
			fmt.Sprintf("protocol: truncated frame: stream ended after %d of %d payload bytes", got, size)})
	}
	return cases
}

func TestTruncatedPayload(t *testing.T) { checkBadStreams(t, truncatedPayloadStreams(t)) }

// badStreams is every case above, for the fuzz seed corpora.
func badStreams(t testing.TB) []badStream {
	var all []badStream
	for _, class := range []func(testing.TB) []badStream{zeroLengthStreams, oversizedStreams, truncatedHeaderStreams, truncatedPayloadStreams} {
		all = append(all, class(t)...)
	}
	return all
}

// TestReadFrameStream: frames back to back come out one by one into a reused
// buffer, and a stream that ends between frames ends with plain io.EOF.
func TestReadFrameStream(t *testing.T) {
	var stream []byte
	var want [][]byte
	for _, ex := range examples() {
		f := exampleFrame(t, ex.Msg)
		stream = append(stream, f...)
		want = append(want, f[protocol.HeaderSize:])
	}
	r := bytes.NewReader(stream)
	buf := make([]byte, 0, 1024)
	for i, w := range want {
		p, err := protocol.ReadFrame(r, buf, 0)
		if err != nil || !bytes.Equal(p, w) {
			t.Fatalf("frame %d: %x, %v; want %x", i, p, err, w)
		}
		if &p[0] != &buf[:1][0] {
			t.Fatalf("frame %d: ReadFrame allocated although the buffer had room", i)
		}
	}
	if _, err := protocol.ReadFrame(r, buf, 0); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

// TestReadFrameLimit: a frame of exactly the limit is accepted, one byte more
// is not, and a limit of 0 means the default rather than no limit.
func TestReadFrameLimit(t *testing.T) {
	payload := bytes.Repeat([]byte{0x90}, 64)
	if p, err := protocol.ReadFrame(bytes.NewReader(frame(payload)), nil, 64); err != nil || len(p) != 64 {
		t.Fatalf("frame of exactly the limit: %d bytes, %v", len(p), err)
	}
	if _, err := protocol.ReadFrame(bytes.NewReader(frame(append(payload, 0x90))), nil, 64); !errors.Is(err, protocol.ErrFrameTooLarge) {
		t.Fatalf("frame one over the limit: %v", err)
	}
	for _, limit := range []int{0, -1} {
		_, err := protocol.ReadFrame(bytes.NewReader(lengthPrefix(protocol.DefaultMaxFrame+1)), nil, limit)
		checkProtocolError(t, err, protocol.ErrFrameTooLarge, "", fmt.Sprintf("the limit of %d bytes", protocol.DefaultMaxFrame))
	}
}

// TestAppendFrame: the prefix counts the payload only, and a message that
// cannot be encoded leaves dst as it was.
func TestAppendFrame(t *testing.T) {
	dst := []byte("keep")
	f, err := protocol.AppendFrame(dst, &protocol.Goodbye{Reason: "bye"})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := protocol.Append(nil, &protocol.Goodbye{Reason: "bye"})
	if err != nil || !bytes.Equal(f, append([]byte("keep"), frame(payload)...)) {
		t.Fatalf("AppendFrame = %x, want %q + %x", f, "keep", frame(payload))
	}
	bad := &protocol.Data{Records: []protocol.Record{{Fields: map[string]string{"data_type": "cpu"}}, {Fields: map[string]string{"core": "1"}}}}
	f, err = protocol.AppendFrame([]byte("keep"), bad)
	checkProtocolError(t, err, protocol.ErrMissingField, "records[1].fields.data_type", "not sent: the peer would reject it")
	if string(f) != "keep" {
		t.Fatalf("after a refused message dst = %q, want %q", f, "keep")
	}
}

// TestReadFrameAllocatesAsBytesArrive: a peer that sends a 4 MiB length
// prefix and then only a few bytes makes the reader allocate in proportion
// to those bytes, not to the length it claimed.
func TestReadFrameAllocatesAsBytesArrive(t *testing.T) {
	frame := binary.BigEndian.AppendUint32(nil, protocol.DefaultMaxFrame)
	frame = append(frame, make([]byte, 100)...) // then the stream ends
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := protocol.ReadFrame(bytes.NewReader(frame), nil, 0)
	runtime.ReadMemStats(&after)
	if pe, ok := errors.AsType[*protocol.Error](err); !ok || pe.Code != protocol.ErrTruncated {
		t.Fatalf("err %v, want a truncated frame", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 256<<10 {
		t.Fatalf("allocated %d bytes for a frame that sent 100 of its %d", got, protocol.DefaultMaxFrame)
	}
	// A frame that does arrive whole still reads whole, in steps.
	payload := bytes.Repeat([]byte{0xab}, 3<<20+17)
	whole := append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
	got, err := protocol.ReadFrame(iotest.OneByteReader(bytes.NewReader(whole)), make([]byte, 0, 10), 0)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("whole frame: %v, %d bytes", err, len(got))
	}
}
