package protocol_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/protocol"
)

// These tests read PROTOCOL.md the way a person would and hold it to the
// code: every hex dump decodes to the value shown above it, every error text
// is what the code reports, every field table matches what the encoder
// writes and the decoder requires, and every message kind, reject code and
// environment variable the source declares is documented.

// block is one fenced code block of PROTOCOL.md.
type block struct {
	info    string // the word after the opening fence
	body    string // the lines inside, each ending in "\n"
	line    int    // line number of the opening fence
	heading string // the nearest heading above
}

func specBlocks(t *testing.T) []block {
	t.Helper()
	doc, err := readPluginSpec()
	if err != nil {
		t.Fatal(err)
	}
	var blocks []block
	var cur *block
	heading := ""
	for i, line := range strings.Split(string(doc), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &block{info: strings.TrimPrefix(line, "```"), line: i + 1, heading: heading}
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.body += line + "\n"
		case strings.HasPrefix(line, "#"):
			heading = strings.TrimSpace(strings.TrimLeft(line, "#"))
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: code block never closed", specFile, cur.line)
	}
	return blocks
}

// parseDump reads a hexdump -C style dump back into bytes, insisting that it
// is exactly what hex.Dump writes for them (offsets, spacing, text column).
func parseDump(t *testing.T, b block, dump string) []byte {
	t.Helper()
	var out []byte
	for _, line := range strings.Split(strings.TrimSuffix(dump, "\n"), "\n") {
		hexPart, _, _ := strings.Cut(line, "|")
		fields := strings.Fields(hexPart)
		if len(fields) < 2 {
			t.Fatalf("%s:%d: not a hex dump line: %q", specFile, b.line, line)
		}
		for _, f := range fields[1:] {
			v, err := hex.DecodeString(f)
			if err != nil || len(v) != 1 {
				t.Fatalf("%s:%d: %q is not a hex byte", specFile, b.line, f)
			}
			out = append(out, v[0])
		}
	}
	if hex.Dump(out) != dump {
		t.Fatalf("%s:%d: the dump is not in hex.Dump's format for its bytes:\n%s", specFile, b.line, hex.Dump(out))
	}
	return out
}

// TestSpecExamples decodes every hex block of PROTOCOL.md with ReadFrame and
// Decode and checks it against the Go value and the JSON shown above it.
func TestSpecExamples(t *testing.T) {
	byLiteral := map[string]example{}
	for _, ex := range examples() {
		byLiteral[goLiteral(ex.Msg)] = ex
	}
	seen := map[string]int{}
	kinds := map[protocol.Kind]bool{}
	var goBlock, jsonBlock *block
	for _, b := range specBlocks(t) {
		switch b.info {
		case "go":
			goBlock = &b
			continue
		case "json":
			jsonBlock = &b
			continue
		case "hex":
		default:
			continue
		}
		if goBlock == nil || jsonBlock == nil {
			t.Errorf("%s:%d: hex block without a go and a json block above it", specFile, b.line)
			continue
		}
		stream := parseDump(t, b, b.body)
		r := bytes.NewReader(stream)
		payload, err := protocol.ReadFrame(r, nil, protocol.DefaultMaxFrame)
		if err != nil || r.Len() != 0 {
			t.Errorf("%s:%d: not exactly one frame: %v (%d bytes left)", specFile, b.line, err, r.Len())
			continue
		}
		m, err := protocol.Decode(payload)
		if err != nil {
			t.Errorf("%s:%d: %v", specFile, b.line, err)
			continue
		}
		literal := strings.TrimSuffix(goBlock.body, "\n")
		if _, err := parser.ParseExpr(literal); err != nil {
			t.Errorf("%s:%d: the value is not a Go expression: %v", specFile, goBlock.line, err)
		}
		ex, ok := byLiteral[literal]
		switch {
		case !ok:
			t.Errorf("%s:%d: %s is not one of the test's examples", specFile, goBlock.line, literal)
		case !reflect.DeepEqual(m, ex.Msg):
			t.Errorf("%s:%d: decodes to %s, want %s", specFile, b.line, goLiteral(m), literal)
		}
		seen[ex.Title]++
		kinds[m.Kind()] = true
		wire, err := decodeOrdered(payload)
		if err != nil {
			t.Errorf("%s:%d: the generic library cannot read the payload: %v", specFile, b.line, err)
		} else if got := wireJSON(wire); got+"\n" != jsonBlock.body {
			t.Errorf("%s:%d: JSON is %s, the payload holds %s", specFile, jsonBlock.line, strings.TrimSpace(jsonBlock.body), got)
		}
		goBlock, jsonBlock = nil, nil
	}
	for _, ex := range examples() {
		if seen[ex.Title] != 1 {
			t.Errorf("example %q appears %d times in %s, want once", ex.Title, seen[ex.Title], specFile)
		}
	}
	for _, k := range constValues(t, "message.go", "Kind") {
		if !kinds[protocol.Kind(k)] {
			t.Errorf("kind %q (declared in message.go) has no hex example in %s", k, specFile)
		}
	}
}

// TestSpecErrors feeds every error block's stream to a receiver and checks
// the exact text, and that every error class has an example.
func TestSpecErrors(t *testing.T) {
	covered := map[protocol.ErrorCode]bool{}
	n := 0
	for _, b := range specBlocks(t) {
		if b.info != "error" {
			continue
		}
		n++
		dump, want, ok := strings.Cut(b.body, "=> ")
		if !ok {
			t.Errorf("%s:%d: error block without a \"=> \" line", specFile, b.line)
			continue
		}
		_, err := readMessage(parseDump(t, b, dump))
		if err == nil || err.Error()+"\n" != want {
			t.Errorf("%s:%d: the stream gives %v, the document says %s", specFile, b.line, err, strings.TrimSpace(want))
			continue
		}
		for _, c := range errorCodes() {
			if errors.Is(err, c) {
				covered[c] = true
			}
		}
	}
	for _, c := range errorCodes() {
		if !covered[c] {
			t.Errorf("error class %q has no example in %s", c, specFile)
		}
	}
	if n == 0 {
		t.Fatalf("%s has no error blocks", specFile)
	}
}

// errorCodes enumerates the ErrorCode values that have a name (an unnamed
// one reads "protocol error N"), so a new code is picked up without editing
// the test.
func errorCodes() []protocol.ErrorCode {
	var codes []protocol.ErrorCode
	for c := protocol.ErrorCode(1); c < 100 && c.Error() != fmt.Sprintf("protocol error %d", int(c)); c++ {
		codes = append(codes, c)
	}
	return codes
}

// fieldTable is one "### `name`" section's table: field → (type, required).
type fieldRow struct {
	typ      string
	required bool
}

var tableHeading = regexp.MustCompile("^### `([a-z_]+)`")

func specTables(t *testing.T) map[string]map[string]fieldRow {
	t.Helper()
	doc, err := readPluginSpec()
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]map[string]fieldRow{}
	name := ""
	for _, line := range strings.Split(string(doc), "\n") {
		if m := tableHeading.FindStringSubmatch(line); m != nil {
			name = m[1]
			continue
		}
		if strings.HasPrefix(line, "#") {
			name = ""
		}
		cells := strings.Split(line, "|")
		if name == "" || len(cells) != 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		field := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if tables[name] == nil {
			tables[name] = map[string]fieldRow{}
		}
		if _, dup := tables[name][field]; dup {
			// Only the first table of a section is the field table.
			continue
		}
		tables[name][field] = fieldRow{strings.TrimSpace(cells[2]), strings.HasPrefix(strings.TrimSpace(cells[3]), "yes")}
	}
	return tables
}

// TestSpecTables holds each message's field table to the code: the fields
// listed are the fields the encoder writes, "required" is what the decoder
// requires, and each documented integer range is the one the decoder
// enforces.
func TestSpecTables(t *testing.T) {
	tables := specTables(t)
	wire := map[protocol.Kind]omap{}
	for _, m := range wireExamples(t) {
		wire[kindOf(m)] = m
	}
	for _, k := range constValues(t, "message.go", "Kind") {
		kind := protocol.Kind(k)
		table, ok := tables[k]
		if !ok {
			t.Errorf("%s has no field table for kind %q", specFile, k)
			continue
		}
		var written []string
		for _, p := range wire[kind] {
			written = append(written, p.K)
		}
		if got := slices.Sorted(maps.Keys(table)); !slices.Equal(got, slices.Sorted(slices.Values(written))) {
			t.Errorf("%s: the table lists %v, the encoder writes %v", k, got, written)
		}
		for field, row := range table {
			want := field == "kind" || slices.Contains(required[kind], field)
			if row.required != want {
				t.Errorf("%s.%s: the table says required=%v, the decoder requires it: %v", k, field, row.required, want)
			}
			checkRange(t, wire[kind], field, row.typ)
		}
	}
	rec := tables["record"]
	if got := slices.Sorted(maps.Keys(rec)); !slices.Equal(got, []string{"fields", "timestamp", "token"}) {
		t.Errorf("record: the table lists %v", got)
	}
	for field, row := range rec {
		if want := slices.Contains(requiredInRecord, field); row.required != want {
			t.Errorf("record.%s: the table says required=%v, the decoder requires it: %v", field, row.required, want)
		}
	}
}

var uintRange = regexp.MustCompile(`^(array of )?uint \(0\.\.(\d+)\)`)

// checkRange: a field documented as "uint (0..N)" decodes with N and is
// refused with N+1 (and with -1).
func checkRange(t *testing.T, m omap, field, typ string) {
	t.Helper()
	r := uintRange.FindStringSubmatch(typ)
	if r == nil {
		if strings.Contains(typ, "uint") {
			t.Errorf("%s.%s: type %q has no range to check", kindOf(m), field, typ)
		}
		return
	}
	top, err := strconv.ParseUint(r[2], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	wrap := func(v any) any {
		if r[1] != "" {
			return []any{v}
		}
		return v
	}
	if _, err := protocol.Decode(enc(t, m.with(field, wrap(top)))); err != nil {
		t.Errorf("%s.%s = %d (the documented maximum): %v", kindOf(m), field, top, err)
	}
	if _, err := protocol.Decode(enc(t, m.with(field, wrap(-1)))); !errors.Is(err, protocol.ErrMalformed) {
		t.Errorf("%s.%s = -1: %v, want ErrMalformed", kindOf(m), field, err)
	}
	if top == 1<<64-1 {
		return
	}
	if _, err := protocol.Decode(enc(t, m.with(field, wrap(top+1)))); !errors.Is(err, protocol.ErrMalformed) {
		t.Errorf("%s.%s = %d (one over the documented maximum): %v, want ErrMalformed", kindOf(m), field, top+1, err)
	}
}

// TestSpecNamesEverything: reject codes, environment variables, the frame
// limit and the version are all in the document.
func TestSpecNamesEverything(t *testing.T) {
	doc, err := readPluginSpec()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, c := range constValues(t, "message.go", "RejectCode") {
		want = append(want, "| `"+c+"` |")
	}
	for _, v := range constValues(t, "env.go", "") {
		want = append(want, "| `"+v+"` |")
	}
	for _, f := range []string{protocol.FieldDataType, protocol.FieldTaskStatus, protocol.FieldError} {
		want = append(want, "| `"+f+"` |")
	}
	want = append(want,
		fmt.Sprintf("version %d", protocol.Version),
		fmt.Sprintf("**4 MiB (%d bytes)**", protocol.DefaultMaxFrame),
		fmt.Sprintf("`%q` or `%q`", protocol.StatusOK, protocol.StatusError),
	)
	for _, w := range want {
		if !bytes.Contains(doc, []byte(w)) {
			t.Errorf("%s does not contain %q", specFile, w)
		}
	}
}

// constValues returns the string constants declared in file whose declared
// type is typ (any string constant when typ is ""), read from the source so
// that a new constant is noticed without editing the test.
func constValues(t *testing.T, file, typ string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); typ != "" && (!ok || id.Name != typ) {
				continue
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					out = append(out, s)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no string constants of type %q in %s", typ, file)
	}
	return out
}

// controlMarker starts the control-socket half of PROTOCOL.md, which
// control/spec_test.go checks; these tests check the plugin protocol above it.
const controlMarker = "<!-- control protocol: checked by control/spec_test.go"

func readPluginSpec() ([]byte, error) {
	doc, err := os.ReadFile(specFile)
	if i := bytes.Index(doc, []byte(controlMarker)); i >= 0 {
		doc = doc[:i]
	}
	return doc, err
}
