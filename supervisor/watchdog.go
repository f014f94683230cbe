package supervisor

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/plugvisor/plugvisor/internal/cgroup"
)

// The watchdog is a small process (this same binary, re-executed) that
// outlives a supervisor killed with SIGKILL just long enough to kill every
// plugin it was told about. Pdeathsig reaches only a plugin's first process;
// its children would otherwise survive as orphans, and a child that called
// setsid or setpgid is in no group the supervisor knows: only its cgroup
// still holds it.
//
// The supervisor writes "+<pgid>[\t<cgroup dir>]..." and "-<pgid>" lines to
// the watchdog's stdin, and "p<dir>" for each parent directory its cgroups
// are made in. End of file — which the kernel delivers when the supervisor
// dies, however it dies — means: kill every group and cgroup still listed,
// remove the cgroups and the parents, then exit. If the watchdog itself dies
// first, the supervisor notices, says so, and starts another with the same
// list.

// WatchdogEnv marks a process started as the watchdog.
const WatchdogEnv = "PLUGVISOR_WATCHDOG"

// watchdogCleanup bounds how long the watchdog waits for killed cgroups to
// empty before removing them.
const watchdogCleanup = 10 * time.Second

// RunWatchdogIfRequested turns this process into the watchdog when the
// supervisor started it as one, and never returns in that case. Call it first
// thing in main (and in TestMain of packages that start a Supervisor).
func RunWatchdogIfRequested() {
	if os.Getenv(WatchdogEnv) != "1" {
		return
	}
	// Terminal signals aimed at the operator's process group must not kill
	// the one process whose job is to clean up after the others.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	// Like the supervisor: a plugin of the same uid must not trace it.
	_ = notDumpable()
	killAll(watch(os.Stdin))
	os.Exit(0)
}

// watchEntry is what the watchdog kills for one plugin process.
type watchEntry struct {
	pgid    int
	cgroups []string // the group's directories, cgroup2 first; nil without cgroups
}

func (e watchEntry) line() string {
	return "+" + strconv.Itoa(e.pgid) + joinTabs(e.cgroups)
}

func joinTabs(dirs []string) string {
	if len(dirs) == 0 {
		return ""
	}
	return "\t" + strings.Join(dirs, "\t")
}

// watchList is what the watchdog was told: the plugin processes, and the
// parent directories of their cgroups.
type watchList struct {
	entries map[int]watchEntry
	parents []string
}

// watch reads the supervisor's list until end of file.
func watch(r io.Reader) watchList {
	l := watchList{entries: map[int]watchEntry{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if dir, ok := strings.CutPrefix(line, "p"); ok && filepath.IsAbs(dir) {
			l.parents = append(l.parents, filepath.Clean(dir))
			continue
		}
		e, add, ok := parseWatchLine(line)
		switch {
		case !ok:
		case add:
			l.entries[e.pgid] = e
		default:
			delete(l.entries, e.pgid)
		}
	}
	return l
}

func parseWatchLine(line string) (e watchEntry, add, ok bool) {
	if len(line) < 2 || (line[0] != '+' && line[0] != '-') {
		return e, false, false
	}
	fields := strings.Split(line[1:], "\t")
	pgid, err := strconv.Atoi(fields[0])
	if err != nil || pgid <= 1 {
		return e, false, false
	}
	e = watchEntry{pgid: pgid}
	for _, dir := range fields[1:] {
		if filepath.IsAbs(dir) {
			e.cgroups = append(e.cgroups, filepath.Clean(dir))
		}
	}
	return e, line[0] == '+', true
}

// killAll kills every listed process group and cgroup, then removes the
// cgroups and the parents they were made in. A parent still holding a
// group of a process that was not listed (none should) stays.
func killAll(l watchList) {
	var groups []*cgroup.Group
	for _, e := range l.entries {
		_ = syscall.Kill(-e.pgid, syscall.SIGKILL)
		if len(e.cgroups) > 0 {
			g := cgroup.Reopen(e.cgroups)
			_ = g.Kill()
			groups = append(groups, g)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), watchdogCleanup)
	defer cancel()
	for _, g := range groups {
		_ = g.Remove(ctx)
	}
	for _, dir := range l.parents {
		removeLeftGroups(ctx, dir)
		_ = os.Remove(dir)
	}
}

// removeLeftGroups removes the empty groups of instances that had no
// process when the supervisor died (their homes keep the v1 groups between
// runs): the supervisor's threads in them died with it.
func removeLeftGroups(ctx context.Context, parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			_ = cgroup.Reopen([]string{filepath.Join(parent, e.Name())}).Remove(ctx)
		}
	}
}

// watchdog is the supervisor's handle on the watchdog process: it keeps the
// list it told the watchdog, so a new watchdog can be told it again.
type watchdog struct {
	exe  string
	log  *slog.Logger
	kids *children

	mu       sync.Mutex
	w        io.WriteCloser
	cmd      *exec.Cmd
	entries  map[int]watchEntry
	parents  []string // of the cgroups, told to every watchdog first
	closed   bool
	restarts int
	deaths   []time.Time   // recent, for watchdogBurst
	gaveUp   bool          // no watchdog any more
	exited   chan struct{} // closed when the current process is reaped
}

// startWatchdog re-executes exe as the watchdog, in its own process group so
// a Ctrl-C for the console does not reach it.
func startWatchdog(exe string, log *slog.Logger, kids *children, parents []string) (*watchdog, error) {
	d := &watchdog{exe: exe, log: log, kids: kids, entries: map[int]watchEntry{}, parents: parents}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.spawnLocked(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *watchdog) spawnLocked() error {
	cmd := exec.Command(d.exe)
	cmd.Env = append(os.Environ(), WatchdogEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	d.kids.start(func() int {
		if err = cmd.Start(); err != nil {
			return 0
		}
		return cmd.Process.Pid
	})
	if err != nil {
		return fmt.Errorf("watchdog: start %s: %w", d.exe, err)
	}
	d.w, d.cmd, d.exited = w, cmd, make(chan struct{})
	go d.reap(cmd, d.exited)
	for _, dir := range d.parents {
		if _, err := io.WriteString(w, "p"+dir+"\n"); err != nil {
			return fmt.Errorf("watchdog: tell the new watchdog its list: %w", err)
		}
	}
	for _, e := range d.entries {
		if _, err := io.WriteString(w, e.line()+"\n"); err != nil {
			return fmt.Errorf("watchdog: tell the new watchdog its list: %w", err)
		}
	}
	return nil
}

// reap waits for one watchdog process; its death while the supervisor runs
// is an alarm (a plugin or an operator killed it) and a new one takes over.
func (d *watchdog) reap(cmd *exec.Cmd, exited chan struct{}) {
	// Wait for the exit without reaping, then reap with forks held off:
	// the hold must never last the watchdog's whole life.
	gone, _ := watchExit(cmd.Process.Pid, false)
	<-gone
	var err error
	d.kids.reap(cmd.Process.Pid, func() { err = cmd.Wait() })
	close(exited)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.cmd != cmd {
		return
	}
	if d.w != nil {
		d.w.Close()
		d.w = nil
	}
	now := time.Now()
	d.deaths = append(slices.DeleteFunc(d.deaths, func(t time.Time) bool { return now.Sub(t) > watchdogWindow }), now)
	if len(d.deaths) > watchdogBurst {
		d.gaveUp = true
		d.log.Error("watchdog died too often; not started again: plugins may outlive a crash of the supervisor",
			"deaths", len(d.deaths), "within", watchdogWindow, "err", err)
		return
	}
	d.restarts++
	d.log.Error("watchdog died; starting another: plugins would have outlived a crash of the supervisor meanwhile",
		"pid", cmd.Process.Pid, "err", err, "restarts", d.restarts)
	if err := d.spawnLocked(); err != nil {
		d.gaveUp = true
		d.log.Error("watchdog not restarted; plugins may outlive a crash of the supervisor", "err", err)
	}
}

// A watchdog that dies more than watchdogBurst times within
// watchdogWindow (a binary replaced by one that does not run, say) is not
// started again: a restart loop would only burn the supervisor's time.
const (
	watchdogBurst  = 5
	watchdogWindow = time.Minute
)

func (d *watchdog) send(line string) {
	if d.w == nil {
		return
	}
	if _, err := io.WriteString(d.w, line+"\n"); err != nil {
		// The reaper restarts a dead watchdog and replays the list.
		d.log.Warn("watchdog not reachable", "err", err)
	}
}

func (d *watchdog) add(e watchEntry) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.entries[e.pgid] = e
	d.send(e.line())
}

func (d *watchdog) remove(pgid int) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.entries, pgid)
	d.send("-" + strconv.Itoa(pgid))
}

// pid is the current watchdog's pid, and how often it was restarted.
func (d *watchdog) pid() (pid, restarts int) {
	if d == nil {
		return 0, 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gaveUp {
		return 0, d.restarts
	}
	return d.cmd.Process.Pid, d.restarts
}

// close ends the watchdog after a clean shutdown (nothing is left to kill).
func (d *watchdog) close() {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.closed = true
	if d.w != nil {
		d.w.Close()
		d.w = nil
	}
	exited := d.exited
	d.mu.Unlock()
	<-exited
}
