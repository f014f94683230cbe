package jsontext_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/plugvisor/plugvisor/internal/jsontext"
)

// What a plugin may put in a field: every escape encoding/json makes.
var awkward = []string{
	"", "plain", `quo"te`, `back\slash`, "<a href='x'>&</a>", "tab\tnew\nline\r",
	"\x00\x01\x1f\x7f", "\u2028\u2029", "bad \xff utf-8 \xc3", "ünïcødé ✓ 𝄞",
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range awkward {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsontext.AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s; encoding/json says %s", s, got, want)
		}
	}
}

func TestFieldsMatchEncodingJSON(t *testing.T) {
	var e jsontext.Fields
	for _, m := range []map[string]string{
		nil, {}, {"data_type": "x"},
		{"z": awkward[2], "a": awkward[4], "m": awkward[8], "data_type": "t", "\u2028": "k"},
	} {
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Append(nil, m); string(got) != string(want) {
			t.Errorf("Fields.Append(%v) = %s; encoding/json says %s", m, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range awkward {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := jsontext.AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s; encoding/json says %s", s, got, want)
		}
	})
}

// TestFieldsOneEncoderManyRecords: one Fields for records whose names
// repeat, change, differ in one name only, grow past what it remembers, or
// are none: each object is what encoding/json makes of its own map.
func TestFieldsOneEncoderManyRecords(t *testing.T) {
	long := strings.Repeat("n", 5000)
	var e jsontext.Fields
	for i, m := range []map[string]string{
		{"data_type": "a", "seq": "1"}, {"data_type": "b", "seq": "2"}, {"data_type": "c", "pid": "3"},
		{"data_type": "d", "pid": "4", "seq": "5"}, {"data_type": "e", "seq": "6"}, {},
		{}, nil, {"data_type": "f"}, {long: "x", "data_type": "g"}, {long: "y", "data_type": "h"},
		{"data_type": "i", "seq": "7"}, {awkward[2]: awkward[3], "<": ">"}, {awkward[2]: awkward[9], "<": ""},
		{awkward[2]: "", ">": ""},
	} {
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Append([]byte("prefix"), m); string(got) != "prefix"+string(want) {
			t.Errorf("record %d: Fields.Append(%v) = %s; encoding/json says %s", i, m, got, want)
		}
	}
}
