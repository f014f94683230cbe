// Package latest is a mailbox that holds only the newest value: a reader
// that must never wait hands work to a writer, and work the writer has not
// started yet is superseded rather than queued. Both ends of a plugin
// connection answer heartbeat pings this way, since the latest pong
// answers every earlier ping and any frame proves the sender alive.
package latest

// Box is a single-slot mailbox. The zero value is not ready; use New.
type Box[T any] struct{ ch chan T }

// New makes an empty box.
func New[T any]() Box[T] { return Box[T]{ch: make(chan T, 1)} }

// Put leaves v in the box without waiting, replacing a value not yet taken.
func (b Box[T]) Put(v T) {
	for {
		select {
		case b.ch <- v:
			return
		default:
		}
		select { // take the stale one; another Put may have beaten us to it
		case <-b.ch:
		default:
		}
	}
}

// C yields the value in the box, to be received in a select with the
// taker's other cases.
func (b Box[T]) C() <-chan T { return b.ch }
