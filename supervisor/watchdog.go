package supervisor

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
)

// The watchdog is a small process (this same binary, re-executed) that
// outlives a supervisor killed with SIGKILL just long enough to kill every
// plugin process group it was told about. Pdeathsig reaches only a plugin's
// first process; its children would otherwise survive as orphans.
//
// The supervisor writes "+<pgid>" and "-<pgid>" lines to the watchdog's
// stdin. End of file — which the kernel delivers when the supervisor dies,
// however it dies — means: kill every group still listed, then exit.

// WatchdogEnv marks a process started as the watchdog.
const WatchdogEnv = "PLUGVISOR_WATCHDOG"

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
	watch(os.Stdin)
	os.Exit(0)
}

func watch(r io.Reader) {
	groups := map[int]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < 2 {
			continue
		}
		pgid, err := strconv.Atoi(line[1:])
		if err != nil || pgid <= 1 {
			continue
		}
		if line[0] == '+' {
			groups[pgid] = true
		} else {
			delete(groups, pgid)
		}
	}
	for pgid := range groups {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}

// watchdog is the supervisor's handle on the watchdog process.
type watchdog struct {
	mu  sync.Mutex
	w   io.WriteCloser
	cmd *exec.Cmd
	log *slog.Logger
}

// startWatchdog re-executes exe as the watchdog, in its own process group so
// a Ctrl-C for the console does not reach it.
func startWatchdog(exe string, log *slog.Logger) (*watchdog, error) {
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), WatchdogEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("watchdog: start %s: %w", exe, err)
	}
	return &watchdog{w: w, cmd: cmd, log: log}, nil
}

func (d *watchdog) send(op byte, pgid int) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.w == nil {
		return
	}
	if _, err := fmt.Fprintf(d.w, "%c%d\n", op, pgid); err != nil {
		d.log.Warn("watchdog lost; plugins may outlive a crash of the supervisor", "err", err)
		d.w.Close()
		d.w = nil
	}
}

func (d *watchdog) add(pgid int)    { d.send('+', pgid) }
func (d *watchdog) remove(pgid int) { d.send('-', pgid) }

// close ends the watchdog after a clean shutdown (nothing is left to kill).
func (d *watchdog) close() {
	if d == nil {
		return
	}
	d.mu.Lock()
	if d.w != nil {
		d.w.Close()
		d.w = nil
	}
	d.mu.Unlock()
	_ = d.cmd.Wait()
}
