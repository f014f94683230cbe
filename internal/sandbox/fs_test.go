package sandbox_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadOnlyDirectoryIsReadableOthersAreNot(t *testing.T) {
	if _, ok := landlock(t); !ok {
		return
	}
	a, b := dirWithFile(t, "a"), dirWithFile(t, "b")
	rs, _ := runSandboxed(t, with([]string{a}, nil),
		exec.Command("/bin/cat", filepath.Join(a, "file")),
		exec.Command("/bin/cat", filepath.Join(b, "file")),
		exec.Command("/bin/ls", a),
	)
	assertOK(t, "cat A/file", rs[0], "a\n")
	assertDenied(t, "cat B/file", rs[1])
	assertOK(t, "ls A", rs[2], "file\n")
}

func TestReadWriteAllowsCreatingReadOnlyDoesNot(t *testing.T) {
	if _, ok := landlock(t); !ok {
		return
	}
	ro, rw := dirWithFile(t, "ro"), dirWithFile(t, "rw")
	sh := func(script string) *exec.Cmd { return exec.Command("/bin/sh", "-c", script) }
	rs, _ := runSandboxed(t, with([]string{ro}, []string{rw}),
		sh("echo new > "+rw+"/new && cat "+rw+"/new"),
		sh("mkdir "+rw+"/sub && mv "+rw+"/new "+rw+"/sub/moved && rm -r "+rw+"/sub && echo gone"),
		sh("echo new > "+ro+"/new"),
		sh("rm "+ro+"/file"),
		// Root may mknod anywhere, but not in a sandbox: a device node
		// beneath a read-write directory would open the host's hardware.
		exec.Command("/bin/mknod", filepath.Join(rw, "null"), "c", "1", "3"),
	)
	assertOK(t, "create in rw", rs[0], "new\n")
	assertOK(t, "mkdir, rename across directories, remove in rw", rs[1], "gone\n")
	assertDenied(t, "create in ro", rs[2])
	assertDenied(t, "remove in ro", rs[3])
	assertDenied(t, "mknod in rw", rs[4])
	if _, err := os.Stat(filepath.Join(ro, "new")); !os.IsNotExist(err) {
		t.Errorf("ro/new exists after the denied create: %v", err)
	}
}

// The sandbox belongs to one thread and its children: the test process,
// on its other threads, reads and runs what the sandbox refused.
func TestRestOfProcessUnaffected(t *testing.T) {
	if _, ok := landlock(t); !ok {
		return
	}
	a, b := dirWithFile(t, "a"), dirWithFile(t, "b")
	rs, _ := runSandboxed(t, with([]string{a, "/proc"}, nil),
		exec.Command("/bin/cat", filepath.Join(b, "file")),
		exec.Command("/bin/grep", "NoNewPrivs", "/proc/self/status"),
	)
	assertDenied(t, "sandboxed cat B/file", rs[0])
	assertOK(t, "sandboxed child's no_new_privs", rs[1], "NoNewPrivs:\t1\n")

	if got, err := os.ReadFile(filepath.Join(b, "file")); err != nil || string(got) != "b\n" {
		t.Errorf("test process reading B/file: %q, %v", got, err)
	}
	assertOK(t, "unsandboxed cat B/file", run(exec.Command("/bin/cat", filepath.Join(b, "file"))), "b\n")
	status, err := os.ReadFile("/proc/self/status")
	if err != nil || !strings.Contains(string(status), "NoNewPrivs:\t0\n") {
		t.Errorf("the test process's main thread has no_new_privs set, or status unreadable (%v)", err)
	}
}

func TestMissingPathsAreSkippedAndReported(t *testing.T) {
	if _, ok := landlock(t); !ok {
		return
	}
	a := dirWithFile(t, "a")
	missing := filepath.Join(a, "absent")
	notDir := filepath.Join(a, "file", "below-a-file")
	rs, skipped := runSandboxed(t, with([]string{a, missing}, []string{notDir}),
		exec.Command("/bin/cat", filepath.Join(a, "file")))
	assertOK(t, "cat A/file", rs[0], "a\n")
	if !slices.Contains(skipped, missing) || !slices.Contains(skipped, notDir) {
		t.Errorf("skipped = %q, want it to name %s and %s", skipped, missing, notDir)
	}
	if slices.Contains(skipped, a) {
		t.Errorf("skipped = %q names %s, which exists", skipped, a)
	}
}
