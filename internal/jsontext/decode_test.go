package jsontext_test

import (
	"encoding/json"
	"errors"
	"maps"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/jsontext"
	"github.com/plugvisor/plugvisor/internal/testutil"
)

// decodeCases are inputs DecodeObject must read as encoding/json does:
// what the host's link writes, and what any other NATS client might.
var decodeCases = []string{
	`{}`, ` { } `, "\t\r\n{\"a\" \n:\t\"b\" , \"c\":\"d\"}\r\n", `null`, ` null `,
	`{"data_type":"cpu","host":"h1","load":"0.25","pid":"4242","msg":"ok"}`,
	`{"a":"1","a":"2"}`, `{"a":"1","b":"x","a":"3"}`, `{"a":null}`, `{"a":"x","a":null}`,
	`{"q":"\"\\\/\b\f\n\r\t"}`, `{"u":"\u0041\u00e9\u2028\uFFFF\u0000"}`,
	`{"pair":"\ud834\udd1e","lone hi":"\ud834","lone lo":"\udd1e x","hi then plain":"\ud834\u0041",
	  "hi hi":"\ud834\ud834\udd1e","hi bad":"\ud834\u00zz"}`,
	"{\"bad\":\"\xff \xc3 \xe2\x82 ok\",\"\xfe\":\"k\"}",
	"{\"\u00fc\":\"\u2603 \U0001d11e\"}",
	// refused
	``, ` `, `{`, `{"a"`, `{"a":`, `{"a":"b"`, `{"a":"b",}`, `{,}`, `{"a":"b" "c":"d"}`,
	`{"a":1}`, `{"a":true}`, `{"a":{}}`, `{"a":["x"]}`, `{"a":nul}`, `{"a":nulll}`, `["a"]`, `"a"`, `1`, `nul`,
	`{"a":"b"}x`, `{"a":"b"}{}`, `null x`, `{a:"b"}`, `{'a':"b"}`, `{"a":'b'}`,
	`{"a":"\x"}`, `{"a":"\'"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`, `{"a":"\`, `{"a":"b`,
	"{\"a\":\"tab\tin\"}", "{\"a\":\"nl\nin\"}", "\x00{}", "{}\x00", "\ufeff{}",
}

// jsonDecode is encoding/json's answer, the one DecodeObject must match.
func jsonDecode(data []byte) (map[string]string, error) {
	var m map[string]string
	err := json.Unmarshal(data, &m)
	return m, err
}

// sameAsJSON fails t unless DecodeObject and encoding/json agree on data.
func sameAsJSON(t *testing.T, data []byte) {
	t.Helper()
	got, err := jsontext.DecodeObject(data, 1<<20)
	want, wantErr := jsonDecode(data)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("DecodeObject(%q) = %q, %v; encoding/json %q, %v", data, got, err, want, wantErr)
	case err != nil:
		var de *jsontext.DecodeError
		if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(data) || !strings.HasPrefix(err.Error(), "offset ") {
			t.Fatalf("DecodeObject(%q): %v is not a DecodeError naming an offset in the input", data, err)
		}
	case (got == nil) != (want == nil) || !maps.Equal(got, want):
		t.Fatalf("DecodeObject(%q) = %#v; encoding/json %#v", data, got, want)
	}
}

func TestDecodeObjectMatchesEncodingJSON(t *testing.T) {
	for _, c := range decodeCases {
		sameAsJSON(t, []byte(c))
	}
}

// What the link writes, DecodeObject reads back as it was.
func TestDecodeObjectReadsFieldsAppend(t *testing.T) {
	var e jsontext.Fields
	m := map[string]string{"data_type": "t", "\u2028": "k"}
	for i, s := range awkward {
		m[s] = awkward[(i+1)%len(awkward)]
	}
	got, err := jsontext.DecodeObject(e.Append(nil, m), 100)
	want, _ := jsonDecode(e.Append(nil, m))
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("DecodeObject(Fields.Append(%q)) = %q, %v; want %q", m, got, err, want)
	}
}

func TestDecodeObjectErrorsNameTheOffset(t *testing.T) {
	for _, tc := range []struct {
		in     string
		offset int
		what   string
	}{
		{``, 0, "end of input where an object should be"},
		{`{"a":1}`, 5, `'1' where a string value should be`},
		{`{"a":{}}`, 5, `'{' where a string value should be`},
		{`{"a":"b"} x`, 10, `'x' after the object`},
		{`{"a":"b"`, 8, `end of input where ',' or '}' after a value should be`},
		{`{"a":"b`, 7, `end of input inside a string`},
		{`{"a":"\q"}`, 6, `invalid escape \q`},
		{`{"a":"\u00g0"}`, 10, `'g' in a \u escape`},
		{"{\"a\":\"x\ny\"}", 7, `control character '\n' inside a string`},
		{`{"a":nil}`, 6, `'i' where null should be`},
		{`{"a":"","b":"","c":""}`, 15, "more than 2 fields"},
	} {
		_, err := jsontext.DecodeObject([]byte(tc.in), 2)
		var de *jsontext.DecodeError
		if !errors.As(err, &de) || de.Offset != tc.offset || !strings.Contains(de.What, tc.what) {
			t.Errorf("DecodeObject(%q) = %v; want offset %d: %s", tc.in, err, tc.offset, tc.what)
		}
	}
}

// Duplicates of one key are one field: the bound counts distinct keys, as
// len of encoding/json's map does.
func TestDecodeObjectBoundCountsDistinctKeys(t *testing.T) {
	in := `{"a":"1","b":"2","a":"3","b":"4","a":"5"}`
	m, err := jsontext.DecodeObject([]byte(in), 2)
	if err != nil || len(m) != 2 || m["a"] != "5" || m["b"] != "4" {
		t.Fatalf("DecodeObject(%s, 2) = %q, %v", in, m, err)
	}
	if _, err := jsontext.DecodeObject([]byte(in), 1); err == nil {
		t.Fatalf("DecodeObject(%s, 1) accepted two keys", in)
	}
}

// Allocation stays a small multiple of the input whatever it holds: bad
// UTF-8 (each byte three of U+FFFD) and escapes included.
func TestDecodeObjectAllocationIsBounded(t *testing.T) {
	for _, body := range []string{
		`{"k":"` + strings.Repeat("v", 1<<16) + `"}`,
		`{"k":"` + strings.Repeat("\xff", 1<<16) + `"}`,
		`{"k":"` + strings.Repeat(`\u2603`, 1<<14) + `","l":"` + strings.Repeat("\xff", 1<<14) + `"}`,
		`{"k":"` + strings.Repeat(`\"`, 1<<15) + `"}`,
	} {
		data := []byte(body)
		// The least of a few runs: the process's other goroutines allocate
		// too.
		got := uint64(1 << 62)
		for range 5 {
			var ms0, ms1 runtimeMem
			ms0.read()
			if _, err := jsontext.DecodeObject(data, 10); err != nil {
				t.Fatal(err)
			}
			ms1.read()
			got = min(got, ms1.total-ms0.total)
		}
		t.Logf("decoding %d bytes allocated %d", len(data), got)
		if got > 12*uint64(len(data))+4096 {
			t.Errorf("decoding %d bytes allocated %d", len(data), got)
		}
	}
}

func FuzzDecodeObject(f *testing.F) {
	for _, c := range decodeCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsJSON(t, data)
	})
}

// BenchmarkDecodeObject decodes a typical 5-field record with
// DecodeObject and with encoding/json into a map, alternating the two in
// rounds, and reports each one's ns per record and their ratio.
//
//	go test ./internal/jsontext -run '^$' -bench DecodeObject -benchmem -count 5
func BenchmarkDecodeObject(b *testing.B) {
	var e jsontext.Fields
	rec := e.Append(nil, map[string]string{
		"data_type": "proc_stat", "pid": "48213", "cmd": "/usr/bin/worker --queue=jobs",
		"cpu": "12.5", "msg": "processed 1280 jobs in 2.1s",
	})
	paths := []*decodePath{
		{name: "encoding-json", decode: func() error { _, err := jsonDecode(rec); return err }},
		{name: "jsontext", decode: func() error { _, err := jsontext.DecodeObject(rec, 4096); return err }},
	}
	testutil.InRounds(b, paths)
	ns := map[string]float64{}
	for _, p := range paths {
		ns[p.name] = float64(p.total.Nanoseconds()) / float64(p.n)
		b.ReportMetric(ns[p.name], p.name+"-ns/rec")
	}
	b.ReportMetric(ns["encoding-json"]/ns["jsontext"], "json/jsontext")
}

type decodePath struct {
	name   string
	decode func() error
	total  time.Duration
	n      int
}

func (p *decodePath) Label() string { return p.name }

func (p *decodePath) Run(n int) error {
	start := time.Now()
	for range n {
		if err := p.decode(); err != nil {
			return err
		}
	}
	p.total += time.Since(start)
	p.n += n
	return nil
}

// runtimeMem is the bytes the whole process has allocated so far.
type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.total = ms.TotalAlloc
}
