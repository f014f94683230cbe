package supervisor

import (
	"bufio"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/plugvisor/plugvisor/internal/ring"
)

// maxLineBytes bounds one captured line; a longer one is split, so a plugin
// printing without newlines cannot grow a buffer without limit.
const maxLineBytes = 16 << 10

// logRing keeps the last lines of an instance's output in memory, for the
// capture goroutines to add to while the API reads.
type logRing struct {
	mu    sync.Mutex
	lines *ring.Ring[LogLine]
}

// newLogRing keeps up to n lines and budget bytes of them: lines are up to
// 16 KiB, so a count alone would let 1,000 lines take 16 MiB per instance.
func newLogRing(n int, budget int64) *logRing {
	return &logRing{lines: ring.New(n, ring.WithBudget(budget, lineSize))}
}

func lineSize(l LogLine) int64 { return int64(64 + len(l.Text) + len(l.Instance)) }

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
// the emit callback. It owns r and closes it, and releases the file when the
// stream ends, so a stopped instance holds neither.
func capture(r io.ReadCloser, file *rotatingFile, stream Stream, instance string, ring *logRing, emit func(LogLine)) {
	defer r.Close()
	defer file.Release()
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
