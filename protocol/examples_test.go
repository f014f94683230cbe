package protocol_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// PROTOCOL.md's example and error sections, and the fuzz seed corpora, are
// generated from the encoder by this file; never type hex by hand:
//
//	go test ./protocol -run TestSpecGenerated -update
var update = flag.Bool("update", false, "regenerate PROTOCOL.md's examples and errors and the fuzz seed corpora")

const specFile = "PROTOCOL.md"

// exampleTime is 2025-11-21T20:00:00Z in unix nanoseconds.
const exampleTime = 1763755200000000000

// example is one message the specification shows byte for byte.
type example struct {
	Title string // heading in PROTOCOL.md
	Msg   protocol.Message
}

func examples() []example {
	versionErr := &protocol.VersionError{Plugin: []uint16{2}, Supervisor: []uint16{1}}
	return []example{
		{"hello", &protocol.Hello{Versions: []uint16{1}, Name: "cpu", Version: "1.4.0", PID: 4242, Instance: "cpu-1"}},
		{"welcome", &protocol.Welcome{Protocol: 1, Heartbeat: 5 * time.Second, Supervisor: "plugvisor", MaxFrame: protocol.DefaultMaxFrame}},
		{"reject", &protocol.Reject{Code: protocol.RejectVersion, Reason: versionErr.Error(), Versions: []uint16{1}}},
		{"data", &protocol.Data{Records: []protocol.Record{
			{Timestamp: exampleTime, Fields: map[string]string{"data_type": "cpu", "core": "0", "usage": "12.5"}},
			{Timestamp: exampleTime + 1000, Fields: map[string]string{"data_type": "cpu", "core": "1", "usage": "7.0"}},
		}}},
		{"task", &protocol.Task{ID: 7, Content: "uptime", Token: "t-1"}},
		{"data: task progress and reply", &protocol.Data{Records: []protocol.Record{
			{Timestamp: exampleTime, Token: "t-1", Fields: map[string]string{"data_type": "uptime", "line": "up 3 days"}},
			{Timestamp: exampleTime, Token: "t-1", Fields: map[string]string{"data_type": "uptime", protocol.FieldTaskStatus: protocol.StatusOK}},
		}}},
		{"data: task error", &protocol.Data{Records: []protocol.Record{
			{Timestamp: exampleTime, Token: "t-2", Fields: map[string]string{"data_type": "task", protocol.FieldTaskStatus: protocol.StatusError, protocol.FieldError: "unknown task id 99"}},
		}}},
		{"ping", &protocol.Ping{Seq: 1, Time: exampleTime}},
		{"pong", &protocol.Pong{Seq: 1, Time: exampleTime}},
		{"goodbye", &protocol.Goodbye{Reason: "shutdown requested"}},
		{"shutdown", &protocol.Shutdown{Grace: 5 * time.Second, Reason: "operator stop"}},
	}
}

// exampleFrame encodes m as a full frame. Go randomises map iteration, so a
// record's fields leave in any order (the wire allows any); the examples take
// the smallest of many encodings so that regenerating is stable.
func exampleFrame(t testing.TB, m protocol.Message) []byte {
	t.Helper()
	tries := 1
	if _, ok := m.(*protocol.Data); ok {
		tries = 2000
	}
	var best []byte
	for range tries {
		f, err := protocol.AppendFrame(nil, m)
		if err != nil {
			t.Fatalf("encode %s: %v", m.Kind(), err)
		}
		if best == nil || bytes.Compare(f, best) < 0 {
			best = f
		}
	}
	return best
}

// frame prefixes payload with its length, as a sender would.
func frame(payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

// lengthPrefix is a bare 4-byte length, for streams that end or lie there.
func lengthPrefix(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

// readMessage is what a receiver does with a stream: one frame, decoded.
func readMessage(stream []byte) (protocol.Message, error) {
	payload, err := protocol.ReadFrame(bytes.NewReader(stream), nil, protocol.DefaultMaxFrame)
	if err != nil {
		return nil, err
	}
	return protocol.Decode(payload)
}

// errorExample is a stream the specification shows with the exact error a
// receiver reports for it.
type errorExample struct {
	Title  string
	Stream []byte
}

func errorExamples(t testing.TB) []errorExample {
	ping := exampleFrame(t, &protocol.Ping{Seq: 1, Time: exampleTime})
	return []errorExample{
		{"zero-length frame", lengthPrefix(0)},
		{"frame too large", lengthPrefix(0xFFFFFFFF)},
		{"truncated frame: inside the length prefix", lengthPrefix(16)[:3]},
		{"truncated frame: inside the payload", ping[:protocol.HeaderSize+5]},
		{"malformed message: not a map", frame(encodeGeneric(t, []any{"kind", "ping"}, true))},
		{"malformed message: wrong type", frame(encodeGeneric(t, omap{{"kind", "task"}, {"id", "7"}, {"content", "uptime"}, {"token", "t-1"}}, true))},
		{"malformed message: string sent as binary", frame(encodeGeneric(t, omap{{"kind", "goodbye"}, {"reason", []byte("done")}}, true))},
		{"malformed message: empty data_type", frame(encodeGeneric(t, omap{{"kind", "data"}, {"records", []any{
			omap{{"timestamp", exampleTime}, {"fields", omap{{"data_type", ""}}}},
		}}}, true))},
		{"malformed message: bytes after the message", frame(append(encodeGeneric(t, omap{{"kind", "goodbye"}}, true), 0x00))},
		{"unknown message kind", frame(encodeGeneric(t, omap{{"kind", "launch"}, {"target", "moon"}}, true))},
		{"missing required field: kind", frame(encodeGeneric(t, omap{{"seq", 1}}, true))},
		{"missing required field: in a record", frame(encodeGeneric(t, omap{{"kind", "data"}, {"records", []any{
			omap{{"timestamp", exampleTime}, {"fields", omap{{"data_type", "cpu"}}}},
			omap{{"timestamp", exampleTime}, {"fields", omap{{"core", "1"}}}},
		}}}, true))},
	}
}

// goLiteral renders a message as the Go composite literal that builds it,
// zero fields left out: the "value" line above each example.
func goLiteral(v any) string {
	var b strings.Builder
	writeGo(&b, reflect.ValueOf(v), true)
	return b.String()
}

var durationType = reflect.TypeFor[time.Duration]()

func writeGo(b *strings.Builder, v reflect.Value, typed bool) {
	switch {
	case v.Type() == durationType:
		b.WriteString(durationLiteral(time.Duration(v.Int())))
	case v.Kind() == reflect.Pointer:
		b.WriteString("&")
		writeGo(b, v.Elem(), true)
	case v.Kind() == reflect.Struct:
		if typed {
			b.WriteString(goTypeName(v.Type()))
		}
		b.WriteString("{")
		sep := ""
		for i := range v.NumField() {
			if v.Field(i).IsZero() {
				continue
			}
			b.WriteString(sep + v.Type().Field(i).Name + ": ")
			writeGo(b, v.Field(i), true)
			sep = ", "
		}
		b.WriteString("}")
	case v.Kind() == reflect.Slice:
		b.WriteString("[]" + goTypeName(v.Type().Elem()) + "{")
		for i := range v.Len() {
			if i > 0 {
				b.WriteString(", ")
			}
			writeGo(b, v.Index(i), false)
		}
		b.WriteString("}")
	case v.Kind() == reflect.Map:
		b.WriteString("map[string]string{")
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(k.String()) + ": " + strconv.Quote(v.MapIndex(k).String()))
		}
		b.WriteString("}")
	case v.Kind() == reflect.String:
		b.WriteString(strconv.Quote(v.String()))
	case v.CanInt():
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case v.CanUint():
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	default:
		panic(fmt.Sprintf("goLiteral: no rendering for %s", v.Type()))
	}
}

func goTypeName(t reflect.Type) string {
	if t.PkgPath() == reflect.TypeFor[protocol.Hello]().PkgPath() {
		return "protocol." + t.Name()
	}
	return t.String()
}

func durationLiteral(d time.Duration) string {
	switch {
	case d%time.Second == 0:
		return fmt.Sprintf("%d * time.Second", d/time.Second)
	case d%time.Millisecond == 0:
		return fmt.Sprintf("%d * time.Millisecond", d/time.Millisecond)
	}
	return fmt.Sprintf("time.Duration(%d)", int64(d))
}

// Markers around the generated sections of PROTOCOL.md.
const (
	beginExamples = "<!-- BEGIN GENERATED EXAMPLES: go test ./protocol -run TestSpecGenerated -update -->"
	endExamples   = "<!-- END GENERATED EXAMPLES -->"
	beginErrors   = "<!-- BEGIN GENERATED ERRORS: go test ./protocol -run TestSpecGenerated -update -->"
	endErrors     = "<!-- END GENERATED ERRORS -->"
)

func examplesSection(t testing.TB) string {
	var b strings.Builder
	for _, ex := range examples() {
		f := exampleFrame(t, ex.Msg)
		wire, err := decodeOrdered(f[protocol.HeaderSize:])
		if err != nil {
			t.Fatalf("%s: the generic library cannot read our encoding: %v", ex.Title, err)
		}
		fmt.Fprintf(&b, "\n#### %s\n\n", ex.Title)
		fmt.Fprintf(&b, "%d bytes: the length prefix `%x` (%d), then the payload.\n\n", len(f), f[:protocol.HeaderSize], len(f)-protocol.HeaderSize)
		fmt.Fprintf(&b, "```go\n%s\n```\n\n", goLiteral(ex.Msg))
		fmt.Fprintf(&b, "```json\n%s\n```\n\n", wireJSON(wire))
		fmt.Fprintf(&b, "```hex\n%s```\n", hex.Dump(f))
	}
	return b.String()
}

func errorsSection(t testing.TB) string {
	var b strings.Builder
	for _, ex := range errorExamples(t) {
		_, err := readMessage(ex.Stream)
		if err == nil {
			t.Fatalf("error example %q decodes without error", ex.Title)
		}
		fmt.Fprintf(&b, "\n#### %s\n\n```error\n%s=> %s\n```\n", ex.Title, hex.Dump(ex.Stream), err)
	}
	return b.String()
}

// replaceBetween swaps the text between two marker lines.
func replaceBetween(t testing.TB, doc, begin, end, body string) string {
	t.Helper()
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q ... %q", specFile, begin, end)
	}
	return doc[:i+len(begin)] + "\n" + body + "\n" + doc[j:]
}

// Seed corpora: generated files carry these prefixes; any other file in the
// corpus directories (a crasher a fuzz run found) is kept as it is.
var generatedPrefixes = []string{"example-", "error-", "malformed-", "stream-"}

func corpusFile(input []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", input)
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// maxSeed keeps seeds small: the fuzzer mutates small inputs best.
const maxSeed = 4 << 10

// seedCorpora returns, per fuzz target, file name → input.
func seedCorpora(t testing.TB) map[string]map[string][]byte {
	frames := map[string][]byte{}
	payloads := map[string][]byte{}
	var all []byte
	for _, ex := range examples() {
		f := exampleFrame(t, ex.Msg)
		frames["example-"+slug(ex.Title)] = f
		payloads["example-"+slug(ex.Title)] = f[protocol.HeaderSize:]
		all = append(all, f...)
	}
	frames["stream-all-examples"] = all
	for _, ex := range errorExamples(t) {
		frames["error-"+slug(ex.Title)] = ex.Stream
		if len(ex.Stream) > protocol.HeaderSize && int(binary.BigEndian.Uint32(ex.Stream)) == len(ex.Stream)-protocol.HeaderSize {
			payloads["error-"+slug(ex.Title)] = ex.Stream[protocol.HeaderSize:]
		}
	}
	for _, c := range allBadPayloads(t) {
		if len(c.payload) > maxSeed {
			continue // the deep nesting bombs; "just past the limit" stands in for them
		}
		payloads["malformed-"+slug(c.name)] = c.payload
		frames["malformed-"+slug(c.name)] = frame(c.payload)
	}
	for _, c := range badStreams(t) {
		frames["malformed-"+slug(c.name)] = c.stream
	}
	return map[string]map[string][]byte{"FuzzReadFrame": frames, "FuzzDecode": payloads}
}

// TestSpecGenerated regenerates PROTOCOL.md's example and error sections and
// the seed corpora, and fails if what is on disk differs (or, with -update,
// writes them).
func TestSpecGenerated(t *testing.T) {
	old, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := replaceBetween(t, string(old), beginExamples, endExamples, examplesSection(t))
	doc = replaceBetween(t, doc, beginErrors, endErrors, errorsSection(t))
	corpora := seedCorpora(t)
	if *update {
		if err := os.WriteFile(specFile, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		writeCorpora(t, corpora)
		return
	}
	if doc != string(old) {
		t.Errorf("%s's generated sections are stale (%s); run: go test ./protocol -run TestSpecGenerated -update", specFile, firstDiff(string(old), doc))
	}
	checkCorpora(t, corpora)
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d is %q, want %q", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(al), len(bl))
}

func corpusDir(target string) string { return filepath.Join("testdata", "fuzz", target) }

func isGenerated(name string) bool {
	return slices.ContainsFunc(generatedPrefixes, func(p string) bool { return strings.HasPrefix(name, p) })
}

func writeCorpora(t testing.TB, corpora map[string]map[string][]byte) {
	for target, files := range corpora {
		dir := corpusDir(target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if _, keep := files[e.Name()]; isGenerated(e.Name()) && !keep {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
		for name, input := range files {
			if err := os.WriteFile(filepath.Join(dir, name), corpusFile(input), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func checkCorpora(t *testing.T, corpora map[string]map[string][]byte) {
	for target, files := range corpora {
		dir := corpusDir(target)
		for name, input := range files {
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil || !bytes.Equal(got, corpusFile(input)) {
				t.Errorf("seed %s/%s is missing or stale; run: go test ./protocol -run TestSpecGenerated -update", target, name)
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if _, ok := files[e.Name()]; isGenerated(e.Name()) && !ok {
				t.Errorf("seed %s/%s is no longer generated; run: go test ./protocol -run TestSpecGenerated -update", target, e.Name())
			}
		}
	}
}
