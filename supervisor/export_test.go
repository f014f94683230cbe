package supervisor

import "github.com/plugvisor/plugvisor/registry"

// SetAfterVerify lets the external tests swap an executable on disk in the
// window between its verification and its exec.
func SetAfterVerify(o *Options, f func(*registry.Plugin)) { o.afterVerify = f }

// HistoryInstances is how many instances s's History holds.
func HistoryInstances(s *Supervisor) int { return int(s.history.count.Load()) }

// VerifierCounts is how many executables s has hashed and signatures it
// has checked.
func VerifierCounts(s *Supervisor) (hashed, signatures int) { return s.verifier.Counts() }
