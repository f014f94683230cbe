package control

import "time"

// SetLifecycleTimeout shortens the bound of Client.Start and the like for a
// test; the returned func restores it.
func SetLifecycleTimeout(d time.Duration) (restore func()) {
	old := lifecycleTimeout
	lifecycleTimeout = d
	return func() { lifecycleTimeout = old }
}
