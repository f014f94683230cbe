package supervisor

import (
	"crypto/rand"
	"encoding/hex"
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
