package fleet

import (
	"sync"
	"sync/atomic"
)

// Stats is what the link has done since it started.
type Stats struct {
	Connected bool
	// Records: sent the first time, sent again after a rewind, stored (acks),
	// and lost: beyond the spool, or larger than the server takes.
	Published, Retried, Acked, Dropped, DroppedBytes uint64
	SpoolRecords, SpoolBytes                         int64
	// Events on the core subjects: published, and lost (no connection, or
	// the engine dropped them before the link saw them: those may have
	// been records, how many is not known).
	EventsPublished, EventsDropped uint64
	// LastError is the last error that stopped publishing, for people.
	LastError string
}

type stats struct {
	published, retried, acked, dropped, droppedBytes atomic.Uint64
	eventsPublished, eventsDropped                   atomic.Uint64

	mu      sync.Mutex
	lastErr string
}

func (s *stats) noteError(err error) {
	s.mu.Lock()
	s.lastErr = err.Error()
	s.mu.Unlock()
}

func (s *stats) snapshot() Stats {
	s.mu.Lock()
	last := s.lastErr
	s.mu.Unlock()
	return Stats{
		Published: s.published.Load(), Retried: s.retried.Load(), Acked: s.acked.Load(),
		Dropped: s.dropped.Load(), DroppedBytes: s.droppedBytes.Load(),
		EventsPublished: s.eventsPublished.Load(), EventsDropped: s.eventsDropped.Load(),
		LastError: last,
	}
}
