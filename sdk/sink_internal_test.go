package sdk

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/plugvisor/plugvisor/protocol"
)

func TestFitText(t *testing.T) {
	cases := []struct {
		text string
		room int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{strings.Repeat("x", 20), len(truncatedMark) + 3, "xxx" + truncatedMark},
		{strings.Repeat("é", 10), len(truncatedMark) + 3, "é" + truncatedMark}, // never half a character
		{"abcdef", 3, "abc"}, // no room for the mark
		{"abcdef", -5, ""},
	}
	for _, tc := range cases {
		got := fitText(tc.text, tc.room)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("fitText(%q, %d) = %q, want %q", tc.text, tc.room, got, tc.want)
		}
		if len(got) > max(tc.room, 0) && got != tc.text {
			t.Errorf("fitText(%q, %d) = %d bytes, over the room", tc.text, tc.room, len(got))
		}
	}
}

// The SDK's error reply always fits a frame, whatever the text and token.
func TestErrorReplyFitsFrame(t *testing.T) {
	for _, maxFrame := range []int{1024, 4096, 70000} {
		s := Sink{q: newQueue(10, defaultQueueBytes, maxFrame)}
		for _, n := range []int{0, 10, 900, 1000, 5000, 70000, 100000} {
			it, err := s.errorReply("tok-"+strings.Repeat("t", n%50), strings.Repeat("é", n))
			if err != nil {
				t.Fatalf("maxFrame %d, text %d: %v", maxFrame, n, err)
			}
			frame, err := protocol.Append(nil, &protocol.EncodedData{Records: []protocol.EncodedRecord{it.rec}})
			if err != nil {
				t.Fatal(err)
			}
			if len(frame) > maxFrame {
				t.Errorf("maxFrame %d, text %d: reply frame %d bytes", maxFrame, n, len(frame))
			}
		}
	}
}
