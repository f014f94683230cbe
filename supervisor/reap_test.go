package supervisor

import (
	"bufio"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A member listed before the kill is reaped whatever its cgroup reads as a
// zombie: on cgroup v1 every hierarchy reads "/" for a zombie, so Holds is
// false for it, as it is here with no cgroups at all; a setsid escapee is
// not in its plugin's process group either. Nothing but the list says it
// was the plugin's. This covers the v1-only machine's path on any machine.
func TestReapListedWithoutAdoption(t *testing.T) {
	l, sh, escapee := startEscaper(t)
	members := listMembers([]int{sh.Process.Pid, escapee})
	if len(members) != 2 {
		t.Fatalf("listed %v of the plugin and its escapee", members)
	}
	if l.adopted(procStat{pid: escapee, pgrp: escapee}) {
		t.Fatal("the escapee is adopted: the test would not show the list alone reaps it")
	}
	killAndReap(t, l, sh, escapee)
	l.reapListed(members, time.Now().Add(20*time.Second))
	if _, err := os.Stat("/proc/" + strconv.Itoa(escapee)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("listed escapee %d still there (state %s) after reapListed", escapee, stateOf(t, escapee))
	}
}

// A listed pid whose start time is not the one recorded is another
// process's: reapListed leaves it, zombie or not.
func TestReapListedKeepsReusedPid(t *testing.T) {
	l, sh, escapee := startEscaper(t)
	members := listMembers([]int{escapee})
	members[0].start++ // as if the pid had been handed to a new process
	killAndReap(t, l, sh, escapee)
	waitUntil(t, "the escapee a zombie of the test", func() bool { return stateOf(t, escapee) == "Z" })
	l.reapListed(members, time.Now().Add(time.Second))
	if st := stateOf(t, escapee); st != "Z" {
		t.Fatalf("pid %d with another start time: state %s, want left a zombie", escapee, st)
	}
	var ws syscall.WaitStatus
	if got, err := syscall.Wait4(escapee, &ws, 0, nil); got != escapee {
		t.Fatalf("reap the escapee: %v", err)
	}
}

// startEscaper starts, as a plugin without cgroups, a shell whose child
// called setsid, and returns once that child is in its own session.
func startEscaper(t *testing.T) (*launcher, *exec.Cmd, int) {
	t.Helper()
	if err := becomeSubreaper(); err != nil {
		t.Fatal(err)
	}
	l := &launcher{log: slog.New(slog.DiscardHandler), kids: newChildren(), contain: testContainment(t, true)}
	cmd := exec.Command("sh", "-c", "setsid sleep 1000 & echo $!; exec sleep 1000")
	cmd.SysProcAttr = processAttrs(ownUser)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.contain.spawner.fork(cmd, l.kids); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	escapee, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(escapee, syscall.SIGKILL)
		cmd.Process.Kill()
	})
	waitUntil(t, "the escapee in a session of its own", func() bool { return sessionOf(escapee) == strconv.Itoa(escapee) })
	return l, cmd, escapee
}

// killAndReap kills the shell and its escapee and reaps the shell as
// collect does.
func killAndReap(t *testing.T, l *launcher, sh *exec.Cmd, escapee int) {
	t.Helper()
	exited, _ := watchExit(sh.Process.Pid, false)
	syscall.Kill(escapee, syscall.SIGKILL)
	sh.Process.Kill()
	<-exited
	l.kids.reap(sh.Process.Pid, func() { sh.Wait() })
}

// A listed member not yet a zombie (cgroup2 says empty a moment before a
// killed member finishes its exit) is waited for, not dropped: here it is
// looked at while still running, then killed, and reaped.
func TestReapListedWaitsForDyingMember(t *testing.T) {
	l := &launcher{log: slog.New(slog.DiscardHandler), kids: newChildren(), contain: testContainment(t, true)}
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil { // not os/exec's for the supervisor: not in kids
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() { cmd.Process.Kill() })
	members := listMembers([]int{pid})
	if waiting := l.kids.reapMembers(members); len(waiting) != 1 {
		t.Fatalf("a running listed member: waiting %v, want it kept", waiting)
	}
	cmd.Process.Kill()
	l.reapListed(members, time.Now().Add(20*time.Second))
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("listed member %d still there (state %s) after reapListed", pid, stateOf(t, pid))
	}
}
