package registry

import (
	"errors"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{
		"0":          0,
		"512":        512,
		"512B":       512,
		"64KiB":      64 * KiB,
		"64kib":      64 * KiB,
		"10MiB":      10 * MiB,
		"10 MiB":     10 * MiB,
		"1GiB":       GiB,
		"2TiB":       2 * TiB,
		"10MB":       10_000_000,
		"10KB":       10_000,
		"10kb":       10_000,
		"3GB":        3_000_000_000,
		" 4MiB ":     4 * MiB,
		"8388607TiB": 8388607 * TiB, // the largest whole TiB an int64 holds
	} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestParseSizeErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                     `invalid size "" (want a whole number of bytes`,
		"MiB":                  `invalid size "MiB" (want a whole number`,
		"-1":                   `invalid size "-1" (want a whole number`,
		"1.5MiB":               `invalid size "1.5MiB": unknown unit ".5MiB"`,
		"10M":                  `invalid size "10M": unknown unit "M" (want B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)`,
		"10 parsecs":           `unknown unit "parsecs"`,
		"8388608TiB":           `invalid size "8388608TiB": too large`,
		"99999999999999999999": `too large`,
	} {
		_, err := ParseSize(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSize(%q) error = %v; want it to contain %q", in, err, want)
		}
	}
}

func TestSizeStringRoundTrips(t *testing.T) {
	for s, want := range map[Size]string{
		0:             "0",
		1:             "1",
		1000:          "1KB",
		1023:          "1023",
		KiB:           "1KiB",
		1536:          "1536", // 1.5KiB is no whole unit
		4 * MiB:       "4MiB",
		10_000_000:    "10MB",
		GiB + KiB:     "1048577KiB",
		3 * TiB:       "3TiB",
		5_000_000_000: "5GB",
	} {
		if got := s.String(); got != want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(s), got, want)
		}
		back, err := ParseSize(s.String())
		if err != nil || back != s {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s.String(), back, err, s)
		}
	}
}

// Size is also usable straight from toml; its error arrives in a ParseError
// that carries the line.
func TestSizeUnmarshalTextThroughTOML(t *testing.T) {
	var v struct{ Max Size }
	if _, err := toml.Decode(`max = "64KiB"`, &v); err != nil || v.Max != 64*KiB {
		t.Fatalf("decode: %v, %v", v.Max, err)
	}
	_, err := toml.Decode("\n\nmax = \"lots\"", &v)
	var pe toml.ParseError
	if !errors.As(err, &pe) || pe.Position.Line != 3 || !strings.Contains(pe.Message, `invalid size "lots"`) {
		t.Fatalf("err = %#v", err)
	}
	text, err := (64 * KiB).MarshalText()
	if err != nil || string(text) != "64KiB" {
		t.Fatalf("MarshalText = %q, %v", text, err)
	}
}
