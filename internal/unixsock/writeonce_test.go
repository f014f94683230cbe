package unixsock

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWriteOnce: a fresh connection takes the words whole, even after a
// write deadline has long passed; a peer whose buffer is full gets nothing
// more and the writer is not held.
func TestWriteOnce(t *testing.T) {
	l, err := Listen(filepath.Join(t.TempDir(), "d", "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("unix", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	// What a deadline set before a writer that ran late does: net's Write
	// gives up without trying.
	if err := sc.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Write([]byte("x")); err == nil {
		t.Fatal("a write past its deadline succeeded")
	}
	if n, err := WriteOnce(sc, []byte("refused")); n != 7 || err != nil {
		t.Fatalf("WriteOnce on a fresh connection: %d, %v", n, err)
	}
	got := make([]byte, 7)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "refused" {
		t.Fatalf("read %q, %v", got, err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := WriteOnce(sc, chunk); err != nil {
			if !errors.Is(err, unix.EAGAIN) {
				t.Fatalf("a full buffer: %v, want EAGAIN", err)
			}
			break
		}
	}
}
