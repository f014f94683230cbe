package spool

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// crashEnv, when set, makes the test binary the child of a recovery test:
// it spools into the file named there and dies without Close.
const crashEnv = "SPOOL_TEST_CRASH_PATH"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		crashingWriter(path)
	}
	os.Exit(m.Run())
}

// crashReport is what the child tells its parent before it dies.
type crashReport struct {
	FileItems int
	Acked     uint64
	Last      uint64 // the sequence of the newest item in the file
}

// crashingWriter pushes items so most spill into the file, acks some, and
// exits without Close, as plugvisor killed mid-flight would.
func crashingWriter(path string) {
	fail := func(err error) {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(2)
	}
	s, err := Open(Options{MemoryBytes: 8 << 10, FileBytes: 1 << 20, Path: path, First: 50})
	if err != nil {
		fail(err)
	}
	for i := range uint64(200) {
		if _, ok := s.Push(payload(i, 500)); !ok {
			fail(errors.New("a push was dropped"))
		}
	}
	s.Ack(50 + 29) // the first 30
	st := s.Stats()
	rep := crashReport{FileItems: st.FileItems, Acked: st.Acked, Last: 50 + 30 + uint64(st.FileItems) - 1}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		fail(err)
	}
	os.Exit(0)
}

// crash runs the crashing writer against path and returns what it reported.
func crash(t *testing.T, path string) crashReport {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the crashing writer: %v\n%s", err, stderr.String())
	}
	var rep crashReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("the crashing writer's report %q: %v", out, err)
	}
	if rep.FileItems < 100 || rep.Acked != 30 {
		t.Fatalf("the crashing writer left %+v", rep)
	}
	return rep
}

// A process that died with items in its file: they come back, in order
// and with their sequences, past what it acked; new items come after.
func TestRecoveryAfterCrash(t *testing.T) {
	path := filePath(t)
	rep := crash(t, path)
	s := open(t, Options{MemoryBytes: 8 << 10, FileBytes: 1 << 20, Path: path, First: 1})
	st := s.Stats()
	if st.Recovered != uint64(rep.FileItems) || st.FileItems != rep.FileItems || st.CutBytes != 0 {
		t.Fatalf("recovered %+v, the writer left %+v", st, rep)
	}
	seq, ok := s.Push(payload(1000, 500))
	if !ok || seq != rep.Last+1 {
		t.Fatalf("a new item got sequence %d (ok %v), want %d", seq, ok, rep.Last+1)
	}
	select {
	case <-s.Ready():
	default:
		t.Fatal("not ready with recovered items")
	}
	all := readAll(s, 16, 1<<20)
	if len(all) != rep.FileItems+1 {
		t.Fatalf("read %d items, want %d", len(all), rep.FileItems+1)
	}
	checkConsecutive(t, all[:rep.FileItems], 80, 30)
	if p := checkPayload(t, all[rep.FileItems].Data); p != 1000 {
		t.Fatalf("the new item is last? payload %d", p)
	}
	checkBalance(t, s)
}

// A tail torn by a crash mid-write is found and cut, and counted; the
// records before it are kept.
func TestRecoveryCutsATornTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		tear func(t *testing.T, path string, size int64)
		lost int // the records the tear costs
	}{
		{"short record", func(t *testing.T, path string, size int64) {
			if err := os.Truncate(path, size-3); err != nil {
				t.Fatal(err)
			}
		}, 1},
		{"half a header", func(t *testing.T, path string, size int64) {
			appendTo(t, path, []byte{1, 2, 3, 4, 5, 6, 7})
		}, 0},
		{"a length past the file", func(t *testing.T, path string, size int64) {
			var h [recHeader]byte
			binary.LittleEndian.PutUint32(h[0:], 0xffffffff)
			binary.LittleEndian.PutUint64(h[8:], 1<<40)
			appendTo(t, path, append(h[:], "some data"...))
		}, 0},
		{"a bad checksum", func(t *testing.T, path string, size int64) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			b := make([]byte, 1)
			if _, err := f.ReadAt(b, size-1); err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte{^b[0]}, size-1); err != nil {
				t.Fatal(err)
			}
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filePath(t)
			rep := crash(t, path)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.tear(t, path, st.Size())
			torn, _ := os.Stat(path)
			s := open(t, Options{MemoryBytes: 8 << 10, FileBytes: 1 << 20, Path: path})
			want := rep.FileItems - tc.lost
			stats := s.Stats()
			if stats.Recovered != uint64(want) || stats.CutBytes == 0 {
				t.Fatalf("recovered %d items, cut %d bytes; want %d items and a cut", stats.Recovered, stats.CutBytes, want)
			}
			if after, _ := os.Stat(path); after.Size() != torn.Size()-stats.CutBytes {
				t.Fatalf("file is %d bytes after cutting %d of %d", after.Size(), stats.CutBytes, torn.Size())
			}
			all := readAll(s, 50, 1<<20)
			if len(all) != want {
				t.Fatalf("read %d, want %d", len(all), want)
			}
			checkConsecutive(t, all, 80, 30)
		})
	}
}

func appendTo(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// Close moves memory's items to the file, so a restart finds them all.
func TestCloseKeepsMemoryInTheFile(t *testing.T) {
	path := filePath(t)
	opts := Options{MemoryBytes: 1 << 20, FileBytes: 1 << 20, Path: path}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint64(20) {
		s.Push(payload(i, 100))
	}
	s.Ack(5)
	if st := s.Stats(); st.FileItems != 0 {
		t.Fatalf("spilled before close: %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.FileItems != 15 || st.Dropped != 0 {
		t.Fatalf("after close: %+v", st)
	}
	s = open(t, opts)
	all := readAll(s, 100, 1<<20)
	if len(all) != 15 {
		t.Fatalf("reopened with %d items, want 15", len(all))
	}
	checkConsecutive(t, all, 6, 5)
}

// A file that does not read back as written (changed under the spool) is
// given up: its items are counted as dropped, and memory's still come.
func TestDamagedFileIsGivenUp(t *testing.T) {
	path := filePath(t)
	s := open(t, Options{MemoryBytes: 4096, FileBytes: 1 << 20, Path: path})
	for i := range uint64(50) {
		s.Push(payload(i, 500))
	}
	st := s.Stats()
	if st.FileItems == 0 {
		t.Fatal("nothing in the file")
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt([]byte("XXXX"), headerSize+recHeader+100) // the first record's data
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	all := readAll(s, 100, 1<<20)
	if len(all) != st.MemoryItems {
		t.Fatalf("read %d, want memory's %d", len(all), st.MemoryItems)
	}
	checkConsecutive(t, all, uint64(st.FileItems)+1, uint64(st.FileItems))
	after := s.Stats()
	if after.Dropped != uint64(st.FileItems) || after.DroppedBytes != uint64(st.FileItems)*500 || after.FileUsed != 0 {
		t.Fatalf("after the damage: %+v", after)
	}
	if after.FileErrors != 1 || !errors.Is(after.LastFileError, errUnreadable) || !strings.Contains(after.LastFileError.Error(), path) {
		t.Fatalf("the damage reported as %v (%d errors)", after.LastFileError, after.FileErrors)
	}
	checkBalance(t, s)
}

// The file is private, and what is planted where it goes is refused, not
// written through.
func TestFileIsPrivate(t *testing.T) {
	path := filePath(t)
	s := open(t, Options{MemoryBytes: 1 << 20, FileBytes: 1 << 20, Path: path})
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s has mode %v, want %v", p, st.Mode(), want)
		}
	}
	if _, err := Open(Options{MemoryBytes: 1 << 20, FileBytes: 1 << 20, Path: path}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a second spool on the same file: %v", err)
	}
	s.Close()

	dir := filepath.Dir(path)
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.spool")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{MemoryBytes: 1 << 20, FileBytes: 1 << 20, Path: link}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a symlink at the path: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the symlink's target was changed: %q", b)
	}

	loose := filepath.Join(dir, "loose.spool")
	if err := os.WriteFile(loose, newHeader(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{MemoryBytes: 1 << 20, FileBytes: 1 << 20, Path: loose}); err == nil || !strings.Contains(err.Error(), "0644") {
		t.Errorf("a file readable by others: %v", err)
	}

	other := filepath.Join(dir, "other.spool")
	if err := os.WriteFile(other, []byte(strings.Repeat("not a spool file\n", 4)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{MemoryBytes: 1 << 20, FileBytes: 1 << 20, Path: other}); err == nil || !strings.Contains(err.Error(), "not a spool file") {
		t.Errorf("a file of something else: %v", err)
	}
	if b, _ := os.ReadFile(other); !strings.HasPrefix(string(b), "not a spool") {
		t.Errorf("a file of something else was changed")
	}

	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if _, err := Open(Options{MemoryBytes: 1 << 20, FileBytes: 1 << 20, Path: path}); err == nil || !strings.Contains(err.Error(), "0755") {
		t.Errorf("a directory open to others: %v", err)
	}
}

// A file emptied by acks keeps the last acked sequence in its header: the
// next run numbers past it, or the run after would take its records for
// acked and lose them.
func TestNumberingGoesPastAnEmptiedFile(t *testing.T) {
	path := filePath(t)
	opts := Options{MemoryBytes: 4 << 10, FileBytes: 64 << 10, Path: path}
	first, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i := range uint64(200) { // far past memory: most go to the file
		last, _ = first.Push(payload(i, 64))
	}
	if first.Stats().FileItems == 0 {
		t.Fatal("no item reached the file")
	}
	first.Ack(100) // into the file: its header keeps 100
	first.Ack(last)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint64(2) {
		if seq, ok := second.Push(payload(10+i, 64)); !ok || seq <= 100 {
			t.Fatalf("after a run that acked up to %d in its file, a new item got seq %d (kept %v)", 100, seq, ok)
		}
	}
	if err := second.Close(); err != nil { // memory's items go to the file
		t.Fatal(err)
	}
	third := open(t, opts)
	if got := readAll(third, 16, 1<<20); len(got) != 2 || third.Stats().Recovered != 2 {
		t.Fatalf("the third run recovered %d items (stats %+v), want the second run's 2", len(got), third.Stats())
	}
}
