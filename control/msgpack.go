package control

import (
	"fmt"

	mp "github.com/plugvisor/plugvisor/internal/msgpack"
)

// reader is the shared msgpack reader, loose as the generic decoder is: a
// nil stands for the zero value wherever a value is read, and a string may
// come as binary.
type reader struct{ mp.Reader }

func newReader(b []byte) *reader { return &reader{mp.Reader{Buf: b, Loose: true}} }

// fields reads a map, calling fn with each key (valid only during the
// call) to read or skip its value.
func (r *reader) fields(what string, fn func(key []byte) error) error {
	n, err := r.MapHeader()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for range n {
		key, err := r.StrBytes()
		if err != nil {
			return fmt.Errorf("%s: key: %w", what, err)
		}
		if err := fn(key); err != nil {
			return fmt.Errorf("%s.%s: %w", what, key, err)
		}
	}
	return nil
}
