package sandbox

// RunLocked lets the tests drive OnThread's main-thread path, which only a
// goroutine already on the main thread takes.
func RunLocked(fn func(), done chan<- struct{}) { runLocked(fn, done) }
