package fleet

// Rounds is how many discovery rounds f has done, for tests that wait on
// rounds rather than on time.
func (f *Fleet) Rounds() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rounds
}

// MaxPingNames is maxPingNames, for the tests of discovery under a flood.
const MaxPingNames = maxPingNames

// HearsPresence: the fleet listens to its hosts' presence (the server
// took its subscriptions).
func (f *Fleet) HearsPresence() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.presence) > 0
}

// PresenceEvery is presenceEvery, for the test of a host's answers to a
// spam of calls for presence.
const PresenceEvery = presenceEvery

// PresenceTaken is how many messages the fleet's presence subscriptions
// have delivered to it or dropped, all told.
func (f *Fleet) PresenceTaken() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n uint64
	for _, sub := range f.presence {
		d, _ := sub.Delivered()
		l, _ := sub.Dropped()
		n += uint64(d) + uint64(l)
	}
	return n
}

// PresenceDecodedBad is how many messages on presence subjects the fleet
// decoded and found not a presence of their host.
func (f *Fleet) PresenceDecodedBad() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.badPresence
}
