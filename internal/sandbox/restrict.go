package sandbox

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrUnavailable is returned by RestrictThread when the kernel has no
// Landlock; the thread is left as it was.
var ErrUnavailable = errors.New("landlock unavailable")

// ErrMainThread is returned by RestrictThread on the process's main thread,
// which it refuses to restrict: the runtime can never end that thread, and
// the process's pid names it, so a plugin sharing its Landlock domain could
// signal the supervisor and reach its abstract sockets after all.
var ErrMainThread = errors.New("refusing to restrict the main thread")

// RestrictThread confines the calling OS thread, and every process it forks
// from now on, to spec: no_new_privs, then a Landlock domain that handles
// every right the running ABI has (up to ABI 7) and grants only what spec
// lists. The rest of the process is untouched.
//
// The caller must be locked to its thread (runtime.LockOSThread) and never
// unlock, so that no other goroutine runs there and the runtime ends the
// thread when the goroutine exits; OnThread arranges both. On error the
// thread may carry no_new_privs without a domain: start nothing from it.
//
// skipped lists the paths of spec that do not exist, which get no rule (so
// stay refused) and are no error: a missing path makes the sandbox tighter,
// never looser. The caller decides whether that is worth a log line.
func RestrictThread(spec Spec) (skipped []string, err error) {
	if unix.Gettid() == unix.Getpid() {
		return nil, ErrMainThread
	}
	abi, err := abiVersion()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w: %s", ErrUnavailable, unavailable(err))
	}
	h := handledBy(abi)
	ruleset, err := createRuleset(h)
	if err != nil {
		return nil, fmt.Errorf("sandbox: landlock_create_ruleset: %w", err)
	}
	defer unix.Close(ruleset)
	if skipped, err = addRules(ruleset, h, spec); err != nil {
		return skipped, err
	}
	if err := noNewPrivs(); err != nil {
		return skipped, fmt.Errorf("sandbox: prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	if err := restrictSelf(ruleset, h.restrictFlags); err != nil {
		return skipped, fmt.Errorf("sandbox: landlock_restrict_self: %w", err)
	}
	return skipped, nil
}

// addRules adds every rule of spec to the ruleset.
func addRules(ruleset int, h handled, spec Spec) (skipped []string, err error) {
	for _, set := range []struct {
		paths  []string
		rights uint64
	}{{spec.ReadOnly, readOnlyRights}, {spec.ReadWrite, readWriteRights}} {
		for _, p := range set.paths {
			found, err := addPath(ruleset, h, p, set.rights)
			if err != nil {
				return skipped, err
			}
			if !found {
				skipped = append(skipped, p)
			}
		}
	}
	if h.net == 0 {
		return skipped, nil
	}
	if err := addPorts(ruleset, spec.TCPConnect, unix.LANDLOCK_ACCESS_NET_CONNECT_TCP); err != nil {
		return skipped, err
	}
	return skipped, addPorts(ruleset, spec.TCPBind, unix.LANDLOCK_ACCESS_NET_BIND_TCP)
}

// addPath grants rights beneath path, reporting false when path does not
// exist.
func addPath(ruleset int, h handled, path string, rights uint64) (found bool, err error) {
	if !filepath.IsAbs(path) {
		return false, fmt.Errorf("sandbox: %q is not an absolute path", path)
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sandbox: open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, fmt.Errorf("sandbox: stat %s: %w", path, err)
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if err := addPathRule(ruleset, fd, h.pathRights(rights, isDir)); err != nil {
		return false, fmt.Errorf("sandbox: rule for %s: %w", path, err)
	}
	return true, nil
}

func addPorts(ruleset int, ports []uint16, right uint64) error {
	for _, port := range ports {
		if err := addPortRule(ruleset, port, right); err != nil {
			return fmt.Errorf("sandbox: rule for TCP port %d: %w", port, err)
		}
	}
	return nil
}
