package supervisor

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync/atomic"
)

// Tokens makes task tokens: a random prefix per source and a counter, so
// tokens from different sources (the engine, each console) never collide and
// none repeats within a source. A plugin that has seen some tokens can guess
// the next: a token correlates, it does not authorise.
type Tokens struct {
	prefix string
	n      atomic.Uint64
}

// NewTokens returns a source whose tokens start with label and a random part.
func NewTokens(label string) *Tokens {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return &Tokens{prefix: label + hex.EncodeToString(r[:]) + "-"}
}

// Next returns a token not returned before by this source.
func (t *Tokens) Next() string {
	var buf [32]byte
	b := append(buf[:0], t.prefix...)
	return string(strconv.AppendUint(b, t.n.Add(1), 10))
}

// checkToken refuses a caller-chosen token the plugin wire or a log could
// not carry plainly.
func checkToken(tok string) error {
	if len(tok) > MaxTokenLen {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrBadToken, len(tok), MaxTokenLen)
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("%w: byte %d is %#x; tokens are printable ASCII without spaces", ErrBadToken, i, c)
		}
	}
	return nil
}
