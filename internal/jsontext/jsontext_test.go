package jsontext_test

import (
	"encoding/json"
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
