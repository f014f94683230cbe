package protocol

// Hooks for the external tests (package protocol_test). This file is compiled
// only into the test binary, so none of it is API.

// MinReadBuffer is the smallest buffer ReadFrame allocates, for asserting
// that a frame costs at most max(its length, MinReadBuffer) bytes.
const MinReadBuffer = minReadBuffer

// SendersWaiting is how many Send calls are queued behind the one writing,
// so a test can line up a burst deterministically.
func SendersWaiting(c *Conn) int { return int(c.waiting.Load()) }

// HoldSenderSlot makes c believe one more sender is queued until release is
// called: the state a Send sees when it is not the last of a burst. It lets a
// test reach the "flush on behalf of others" paths without racing goroutines.
func HoldSenderSlot(c *Conn) (release func()) {
	c.waiting.Add(1)
	return func() { c.waiting.Add(-1) }
}
