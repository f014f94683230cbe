package cgroup_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/cgroup"
)

// helperEnv makes the test binary a helper process instead of running
// tests: a Go allocator needs no interpreter on the machine.
const helperEnv = "PLUGVISOR_CGROUP_TEST_HELPER"

// testPrefix names every cgroup the tests make, so leftovers are found.
const testPrefix = "plugvisor-test-"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		runHelper(mode)
		return
	}
	stale := leftovers(func(pid int) bool { return pid != os.Getpid() && !alive(pid) })
	code := m.Run()
	mine := leftovers(func(pid int) bool { return pid == os.Getpid() })
	for _, dir := range append(stale, mine...) {
		fmt.Fprintf(os.Stderr, "leftover cgroup %s\n", dir)
		code = 1
	}
	os.Exit(code)
}

// runHelper waits for a line on stdin, the go-ahead sent once the test has
// joined it to its group, then does its one thing.
func runHelper(mode string) {
	bufio.NewReader(os.Stdin).ReadString('\n')
	switch mode {
	case "alloc":
		allocForever()
	}
	os.Exit(2)
}

// allocForever touches every page it allocates, so memory is charged to
// the group and not merely reserved.
func allocForever() {
	var keep [][]byte
	for {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		keep = append(keep, b)
		if len(keep) > 4096 {
			fmt.Println("allocated 4GiB without being stopped")
			os.Exit(3)
		}
	}
}

// realLayout is this machine's layout. Where it has no usable cgroups, the
// test checks the fallback there (New refuses with ErrUnavailable), says so
// and reports false: the caller has nothing more to test.
func realLayout(t *testing.T) (*cgroup.Layout, bool) {
	t.Helper()
	l, err := cgroup.Detect()
	if err != nil {
		t.Fatal(err)
	}
	if l.Mode == cgroup.ModeNone {
		if _, err := cgroup.New(l, cgroup.Options{}); !errors.Is(err, cgroup.ErrUnavailable) {
			t.Fatalf("no usable cgroups (%s), yet New = %v", l.Describe(), err)
		}
		t.Logf("no usable cgroups here (%s): tested the fallback instead", l.Describe())
		return l, false
	}
	return l, true
}

func alive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

// leftovers finds test cgroups whose owner pid matches, removing them
// (killing what is inside) so one failed run does not poison the next.
func leftovers(owner func(pid int) bool) []string {
	l, err := cgroup.Detect()
	if err != nil || l.Mode == cgroup.ModeNone {
		return nil
	}
	var found []string
	for _, base := range bases(l) {
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			if pid, ok := testOwner(e.Name()); ok && owner(pid) {
				dir := filepath.Join(base, e.Name())
				found = append(found, dir)
				removeTree(dir)
			}
		}
	}
	return found
}

func bases(l *cgroup.Layout) []string {
	var out []string
	if l.V2 != nil {
		out = append(out, l.V2.Base)
	}
	for _, t := range l.V1 {
		out = append(out, t.Own)
	}
	return out
}

func testOwner(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, testPrefix)
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
	return pid, err == nil
}

// removeTree kills and removes a cgroup directory and its children,
// deepest first; cgroupfs refuses rmdir of a directory with children.
func removeTree(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			removeTree(filepath.Join(dir, e.Name()))
		}
	}
	os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for ctx.Err() == nil && os.Remove(dir) != nil {
		killProcs(dir)
		time.Sleep(10 * time.Millisecond)
	}
}

func killProcs(dir string) {
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
			}
		}
	}
}
