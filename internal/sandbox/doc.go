// Package sandbox starts a plugin inside a Landlock sandbox without a
// launcher: no re-executed plugvisor between fork and exec, no helper binary.
//
// # Why a thread, not a launcher
//
// Go runs no code of the caller's between fork and exec, so the usual
// "restrict yourself, then exec" has to happen somewhere else. Landlock
// domains and no_new_privs belong to a thread, not a process, and a child
// takes them from the thread that forked it. So the supervisor gives each
// plugin start an OS thread of its own ([OnThread]), restricts that thread
// ([RestrictThread]) and starts the plugin from it with os/exec, whose
// cmd.Start forks on the calling thread. The supervisor's other threads stay
// as they were. This is sound because of three properties of the Go runtime:
//
//   - a goroutine locked with runtime.LockOSThread is the only one its
//     thread runs, so nothing else of the supervisor runs restricted;
//   - a locked thread never clones new runtime threads itself: the runtime
//     asks a clean template thread to, precisely so that a locked thread's
//     odd kernel state does not spread;
//   - a goroutine that exits still locked takes its thread with it, so the
//     restricted thread is never reused.
//
// The main thread is the exception: the runtime cannot end it (it parks it
// for good instead), and the process's pid names it, so a plugin whose
// domain it shared could signal the supervisor and reach its abstract
// sockets, defeating the scoping below. [RestrictThread] refuses it with
// [ErrMainThread], and [OnThread] never runs its function there.
//
// The restricted thread keeps serving the plugin start: os/exec opens
// /dev/null on it for a child without stdin (so [Base] allows /dev/null),
// and any file the supervisor opens there after [RestrictThread] must be in
// the spec, so open such files before. The thread must also outlive the
// plugin: Pdeathsig fires when the thread that forked the child ends, not
// the process, so the function given to [OnThread] waits for the plugin.
//
// # What a sandbox holds
//
// [RestrictThread] handles every right the running Landlock ABI has (best
// effort, as go-landlock's BestEffort: a right the kernel lacks is left out,
// since naming it fails the whole ruleset) and grants only what the [Spec]
// lists:
//
//   - ABI 1: reading, writing, executing, listing, creating and removing
//     files (ABI 1 cannot grant renames or links across directories: they
//     always fail with EXDEV there);
//   - ABI 2: those renames and links (REFER), granted beneath read-write
//     paths; ABI 3: truncating; ABI 5: ioctl on devices, granted nowhere;
//   - ABI 4: TCP bind and connect, to the listed ports only;
//   - ABI 6: scoping: no signal to, and no connection to an abstract unix
//     socket of, any process outside the sandbox, the supervisor included;
//   - ABI 7: the plugin's denials are written to the audit log (by default
//     only the denials of the thread that restricted itself would be).
//
// Newer rights are not handled: ABI 9's LANDLOCK_ACCESS_FS_RESOLVE_UNIX
// would need a rule for the plugin's socket, and no kernel this was tested
// on has it.
//
// [Probe] says which of these this kernel enforces, for `plugvisor check`.
//
// # What it does not hold
//
//   - Connecting to a pathname unix socket is not a filesystem access that
//     Landlock (before ABI 9) controls, so the plugin's socket needs no rule,
//     and any other such socket it can name is open to it too.
//   - A memfd lives on the kernel's internal shmem mount, which no rule can
//     name and Landlock lets through: a sandboxed plugin can execute a
//     memfd through /proc/self/fd/N even with no /proc in its spec (the test
//     runs a memfd copy of /bin/echo from a restricted thread, and sees the
//     same bytes on disk outside the spec refused). Only the
//     vm.memfd_noexec sysctl stops that.
//   - Landlock checks opening and changing, not looking: stat, readlink,
//     access and chdir work on any path.
//   - UDP, raw sockets and everything else of the network but TCP bind and
//     connect.
//   - Privilege. A plugin running as root keeps its capabilities, several
//     of which (loading a kernel module from memory, raw sockets) get around
//     any of this; no_new_privs only stops it gaining more through exec.
//     Landlock confines a plugin that runs as an unprivileged user; for root
//     it is a speed bump.
//   - On an ABI 6 kernel without erratum 2 fixed, the restricted thread may
//     not signal the supervisor's other threads, so the runtime's preemption
//     signals from it fail; the runtime lives with that.
//
// # Why golang.org/x/sys/unix and not go-landlock
//
// x/sys already has the system call numbers, every right and scope flag,
// and the ruleset and path-beneath structs; it lacks only the net port rule
// type and its struct, defined here. go-landlock's convenient API restricts
// every thread of the process, the opposite of what this package needs, and
// its thread-local call is the same raw system call made here, so it would
// add a dependency to save a dozen lines.
package sandbox
