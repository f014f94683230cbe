package cgroup_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// An instance without limits gets a cgroup2 directory alone where the
// machine has cgroup2: no v1 group for a thread to join. Its Usage still
// says its memory, from its members' statm when there is no memory
// controller, and its CPU from cpu.stat.
func TestUnlimitedGroupUsage(t *testing.T) {
	m, l, ok := newManager(t)
	if !ok {
		return
	}
	g, err := m.NewUnlimitedGroup("bare")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeNow(t, g) })
	switch {
	case l.V2 != nil && (len(g.Dirs()) != 1 || g.NeedsJoin()):
		t.Fatalf("with cgroup2 (%s), an unlimited group has dirs %v, needs join %v; want the cgroup2 one alone", l.Describe(), g.Dirs(), g.NeedsJoin())
	case l.V2 == nil && len(g.Dirs()) != len(l.V1):
		t.Fatalf("v1 only: an unlimited group has dirs %v; want one per hierarchy", g.Dirs())
	}
	p := spawn(t, g, nil, "sh", "-c", "read x; exec sleep 1000")
	pid := p.cmd.Process.Pid
	waitFor(t, "the child in its group", func() (bool, error) {
		pids, err := g.Procs()
		return len(pids) == 1 && pids[0] == pid, err
	})
	page := int64(os.Getpagesize())
	var mem int64
	for i := range 2 { // the second read is through the files the first kept open
		_, m, err := g.Usage(page)
		if err != nil {
			t.Fatal(err)
		}
		if m <= 0 {
			t.Fatalf("Usage %d: memory %d for a group with a running process", i, m)
		}
		mem = m
	}
	if _, err := g.LimitHits(); err != nil {
		t.Fatal(err)
	}
	if l.V2 != nil && len(l.V2.Use) == 0 {
		// No memory controller in cgroup2: the figure is the member's RSS.
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b))
		rss, _ := strconv.ParseInt(f[1], 10, 64)
		if lo, hi := (rss-64)*page, (rss+64)*page; mem < lo || mem > hi {
			t.Fatalf("Usage memory %d, the member's statm says %d pages", mem, rss)
		}
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, g)
}
