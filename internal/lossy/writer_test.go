package lossy

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestWriterNeverWaits: with an output nobody reads (a full pipe), writes
// return at once, what does not fit is counted, and Close gives up after
// its grace.
func TestWriterNeverWaits(t *testing.T) {
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer pw.Close()
	w := NewWriter(pw, 64<<10)
	line := []byte(strings.Repeat("x", 1023) + "\n")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 10_000 { // 10 MiB into a 64 KiB pipe and a 64 KiB budget
			w.Write(line)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("writes waited on an output nobody reads")
	}
	if w.Lost() == 0 {
		t.Fatal("nothing counted as lost")
	}
	w.Close(10 * time.Millisecond) // returns though the pipe is still full
}

// TestWriterWritesInOrderAndSaysWhatWasLost: a reader that keeps up gets
// every line in order; after a loss, the notice comes before what follows.
func TestWriterWritesInOrderAndSaysWhatWasLost(t *testing.T) {
	var out syncBuf
	w := NewWriter(&out, 1<<20)
	for i := range 100 {
		w.Write([]byte(itoa(uint64(i)) + "\n"))
	}
	w.Close(10 * time.Second)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 100 || lines[0] != "0" || lines[99] != "99" {
		t.Fatalf("%d lines: %q … %q", len(lines), lines[0], lines[len(lines)-1])
	}
	if n := lostNotice(3, nil); !bytes.Contains(n, []byte("3 log lines lost")) {
		t.Fatalf("notice %q", n)
	}
}

type syncBuf struct{ buf bytes.Buffer }

func (b *syncBuf) Write(p []byte) (int, error) { return b.buf.Write(p) }
func (b *syncBuf) String() string              { return b.buf.String() }
