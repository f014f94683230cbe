package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/plugvisor/plugvisor/sdk"
)

// The tasks that try to get out of what contains a plugin: its process
// group, its memory, its process count, its CPU share, its files.

// escapeTask starts a child in a session of its own (setsid) that forks
// again and exits, leaving two grandchildren in no group the supervisor
// started: what a kill by process group misses. It replies with their pids.
func escapeTask(ctx context.Context, t sdk.Task, s sdk.Sink) error {
	path, err := exec.LookPath("sleep")
	if err != nil {
		return fmt.Errorf("escape: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("escape: %w", err)
	}
	defer r.Close()
	// The shell reports the pids of the two sleeps it leaves behind, then
	// exits: they are re-parented and keep the new session.
	script := `"$0" 1000000 </dev/null >/dev/null 2>&1 & a=$!; "$0" 1000000 </dev/null >/dev/null 2>&1 & echo "$a $!" >&3`
	cmd := exec.Command("/bin/sh", "-c", script, path)
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("escape: %w", err)
	}
	w.Close()
	out := make([]byte, 64)
	n, _ := r.Read(out)
	_ = cmd.Wait()
	pids := strings.Fields(string(out[:n]))
	if len(pids) != 2 {
		return fmt.Errorf("escape: the shell reported %q, not two pids", out[:n])
	}
	return s.Reply(t, sdk.Fields{"data_type": "chaos", "action": "escape", "pids": strings.Join(pids, ",")})
}

// hogTask allocates MiB at a time and touches every page, forever: content
// is the MiB per step. A progress record after each step says how much is
// held; only a memory limit ends it.
func hogTask(ctx context.Context, t sdk.Task, s sdk.Sink) error {
	step, err := strconv.Atoi(t.Content)
	if err != nil || step <= 0 {
		return fmt.Errorf("hog: content must be MiB per step, not %q", t.Content)
	}
	var held [][]byte
	for i := 1; ctx.Err() == nil; i++ {
		b := make([]byte, step<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		held = append(held, b)
		if err := s.Progress(t, sdk.Fields{"data_type": "hog", "mib": strconv.Itoa(i * step)}); err != nil {
			return err
		}
	}
	runtime.KeepAlive(held)
	return ctx.Err()
}

// forksTask starts up to N sleeping children (content N), ends them, and
// replies how many started and the error of the first that did not: a pids
// limit makes fork fail with EAGAIN.
func forksTask(ctx context.Context, t sdk.Task, s sdk.Sink) error {
	n, err := strconv.Atoi(t.Content)
	if err != nil || n <= 0 {
		return fmt.Errorf("forks: content must be a count, not %q", t.Content)
	}
	path, err := exec.LookPath("sleep")
	if err != nil {
		return fmt.Errorf("forks: %w", err)
	}
	var kids []*exec.Cmd
	failure := ""
	for range n {
		cmd := exec.Command(path, "1000000")
		if err := cmd.Start(); err != nil {
			failure = err.Error()
			break
		}
		kids = append(kids, cmd)
	}
	// Ended one by one from here, with no goroutine (and no thread) per
	// child: pids_max counts threads too, and a runtime that cannot make
	// one aborts. Ending them gives the pids back before the reply.
	for _, cmd := range kids {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	return s.Reply(t, sdk.Fields{"data_type": "chaos", "action": "forks", "started": strconv.Itoa(len(kids)), "error": failure})
}

// spinTask keeps content goroutines busy (default 2) until the task's
// context ends or a duration in the content's second field passes: "2:5s".
func spinTask(ctx context.Context, t sdk.Task, s sdk.Sink) error {
	ns, ds, _ := strings.Cut(t.Content, ":")
	n, err := strconv.Atoi(ns)
	if err != nil || n <= 0 {
		return fmt.Errorf("spin: content must be N or N:DURATION, not %q", t.Content)
	}
	d := time.Hour
	if ds != "" {
		if d, err = time.ParseDuration(ds); err != nil {
			return fmt.Errorf("spin: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := s.Progress(t, sdk.Fields{"data_type": "chaos", "action": "spinning"}); err != nil {
		return err
	}
	done := make(chan struct{})
	for range n {
		go func() {
			for x := 0; ctx.Err() == nil; x++ {
				_ = x * x
			}
			done <- struct{}{}
		}()
	}
	for range n {
		<-done
	}
	return s.Reply(t, sdk.Fields{"data_type": "chaos", "action": "spin"})
}

// readTask reads the file named by the content and replies with its size,
// or fails with the error: inside a sandbox, a path outside it fails with
// permission denied.
func readTask(_ context.Context, t sdk.Task, s sdk.Sink) error {
	b, err := os.ReadFile(t.Content)
	if err != nil {
		return err
	}
	return s.Reply(t, sdk.Fields{"data_type": "chaos", "action": "read", "bytes": strconv.Itoa(len(b))})
}

// whoTask replies with the process's credentials.
func whoTask(_ context.Context, t sdk.Task, s sdk.Sink) error {
	groups, _ := os.Getgroups()
	g := make([]string, len(groups))
	for i, id := range groups {
		g[i] = strconv.Itoa(id)
	}
	return s.Reply(t, sdk.Fields{
		"data_type": "chaos", "action": "who",
		"uid": strconv.Itoa(os.Getuid()), "gid": strconv.Itoa(os.Getgid()), "groups": strings.Join(g, ","),
	})
}
