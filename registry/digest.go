package registry

import (
	"hash"
)

// asideChunks is how many chunks an asideHash holds in flight: enough that
// the copy seldom waits for the hash, each as large as the copy's buffer.
const asideChunks = 4

// asideHash is an io.Writer that runs a hash on a goroutine of its own, so
// a second digest of a file being copied (a signature's BLAKE2b beside the
// sha256) costs a memory copy on the copying goroutine rather than a
// second hash: on two cores the two run at once. Sum must be called once
// the writes are done; it ends the goroutine.
type asideHash struct {
	h    hash.Hash
	full chan []byte
	free chan []byte
	done chan struct{}
}

func newAsideHash(h hash.Hash, chunk int) *asideHash {
	a := &asideHash{h: h, full: make(chan []byte, asideChunks), free: make(chan []byte, asideChunks), done: make(chan struct{})}
	for range asideChunks {
		a.free <- make([]byte, chunk)
	}
	go func() {
		defer close(a.done)
		for b := range a.full {
			a.h.Write(b) // a hash.Hash never fails
			a.free <- b[:cap(b)]
		}
	}()
	return a
}

// Write hands a copy of p to the hashing goroutine; it never fails.
func (a *asideHash) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		b := <-a.free
		k := copy(b, p)
		a.full <- b[:k]
		p = p[k:]
	}
	return n, nil
}

// Sum waits for the writes so far to be hashed and returns the digest.
func (a *asideHash) Sum() []byte {
	close(a.full)
	<-a.done
	return a.h.Sum(nil)
}
