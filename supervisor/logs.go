package supervisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/plugvisor/plugvisor/internal/ring"
)

// maxLineBytes bounds one captured line; a longer one is split, so a plugin
// printing without newlines cannot grow a buffer without limit.
const maxLineBytes = 16 << 10

// rotatingFile appends to path and, when it would pass maxSize, renames it to
// path.1 (shifting older backups up to path.<backups>) and starts afresh.
type rotatingFile struct {
	path    string
	maxSize int64
	backups int

	mu     sync.Mutex
	f      *os.File
	size   int64
	closed bool
}

func openRotating(path string, maxSize int64, backups int) (*rotatingFile, error) {
	r := &rotatingFile{path: path, maxSize: maxSize, backups: backups}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log: %w", err)
	}
	r.f, r.size = f, st.Size()
	return nil
}

func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, os.ErrClosed
	}
	if r.f == nil {
		// A rotation failed (a full disk, say): try again rather than lose
		// every later line.
		if err := r.open(); err != nil {
			return 0, err
		}
	}
	if r.maxSize > 0 && r.size > 0 && r.size+int64(len(p)) > r.maxSize {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

func (r *rotatingFile) rotate() error {
	r.f.Close()
	r.f = nil
	for i := r.backups; i > 0; i-- {
		src := r.path
		if i > 1 {
			src = fmt.Sprintf("%s.%d", r.path, i-1)
		}
		err := os.Rename(src, fmt.Sprintf("%s.%d", r.path, i))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate log: %w", err)
		}
	}
	if r.backups == 0 {
		if err := os.Truncate(r.path, 0); err != nil {
			return fmt.Errorf("rotate log: %w", err)
		}
	}
	return r.open()
}

func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// logRing keeps the last lines of an instance's output in memory, for the
// capture goroutines to add to while the API reads.
type logRing struct {
	mu    sync.Mutex
	lines *ring.Ring[LogLine]
}

func newLogRing(n int) *logRing { return &logRing{lines: ring.New[LogLine](n)} }

func (l *logRing) add(line LogLine) {
	l.mu.Lock()
	l.lines.Push(line)
	l.mu.Unlock()
}

// last returns up to n lines, oldest first; n <= 0 means all of them.
func (l *logRing) last(n int) []LogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n <= 0 {
		n = l.lines.Len()
	}
	return l.lines.Last(n)
}

// capture reads lines from r until EOF, writing each to the file, the ring and
// the emit callback. It owns r and closes it.
func capture(r io.ReadCloser, file io.Writer, stream Stream, instance string, ring *logRing, emit func(LogLine)) {
	defer r.Close()
	br := bufio.NewReaderSize(r, 4096)
	for {
		line, err := readLine(br)
		if err == nil || len(line) > 0 {
			_, _ = file.Write(append(line, '\n'))
			l := LogLine{Time: time.Now(), Instance: instance, Stream: stream, Text: string(line)}
			ring.add(l)
			emit(l)
		}
		if err != nil {
			return
		}
	}
}

// readLine returns the next line without its newline, at most maxLineBytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull) && len(line) < maxLineBytes:
			continue
		case errors.Is(err, bufio.ErrBufferFull):
			return line, nil
		default:
			return line, err
		}
	}
}
