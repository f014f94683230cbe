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
func (f *Fleet) HearsPresence() bool { return len(f.presence) > 0 }

// PresenceEvery is presenceEvery, for the test of a host's answers to a
// spam of calls for presence.
const PresenceEvery = presenceEvery
