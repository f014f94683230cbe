// Package fleetdemo is `plugvisor fleet --demo`: a real nats-server with
// JetStream in the process (a temporary directory, loopback, a random
// port) and simulated hosts, each a real `plugvisor --no-tui` child of
// the same binary running the demo plugins, so one command shows a fleet.
// Close stops the hosts, then the server, and removes the directory.
package fleetdemo

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/plugvisor/plugvisor/internal/sandbox"
	"github.com/plugvisor/plugvisor/registry"
)

// Options say what demo to run.
type Options struct {
	Self  string // the plugvisor binary the hosts and their plugins run as
	Hosts int    // how many; default DefaultHosts, at most MaxHosts
	// Dir holds the demo's files; default a new directory under
	// os.TempDir(). It is removed by Close.
	Dir string
}

// Bounds of the demo.
const (
	DefaultHosts = 3
	MaxHosts     = 16
	// StopGrace is how long Close waits for a host to stop its plugins
	// after SIGTERM before it kills it (its watchdog then kills them).
	StopGrace = 20 * time.Second
)

// Demo is a running fleet demo.
type Demo struct {
	URL    string   // where the server takes clients
	Hosts  []string // the hosts' names
	dir    string
	srv    server
	kids   []*exec.Cmd
	exits  []chan struct{}
	stop   chan struct{} // ends the thread the hosts were forked from
	ended  chan struct{}
	forked bool
	once   sync.Once
}

// HostName is the name of the demo's host i (from 0), and labels its
// labels: odd hosts are edges, even ones core, all env=demo, so selectors
// such as role=edge pick some.
func HostName(i int) (name string, labels map[string]string) {
	role := "edge"
	if i%2 == 1 {
		role = "core"
	}
	return fmt.Sprintf("%s-%d", role, i/2+1), map[string]string{"env": "demo", "role": role}
}

// Start runs the server and the hosts; the hosts answer on NATS once
// their plugins are up, a second or so later.
func Start(o Options) (*Demo, error) {
	o.Hosts = cmp.Or(o.Hosts, DefaultHosts)
	if o.Hosts < 1 || o.Hosts > MaxHosts {
		return nil, fmt.Errorf("fleet demo: %d hosts: want 1 to %d", o.Hosts, MaxHosts)
	}
	d := &Demo{dir: o.Dir, stop: make(chan struct{}), ended: make(chan struct{})}
	if d.dir == "" {
		var err error
		if d.dir, err = os.MkdirTemp("", "pv-fleet-demo-"); err != nil {
			return nil, fmt.Errorf("fleet demo: %w", err)
		}
	}
	if err := d.start(o); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *Demo) start(o Options) error {
	srv, err := startServer(filepath.Join(d.dir, "jetstream"))
	if err != nil {
		return fmt.Errorf("fleet demo: %w", err)
	}
	d.srv, d.URL = srv, srv.url()
	sum, err := registry.FileSHA256(o.Self)
	if err != nil {
		return fmt.Errorf("fleet demo: %w", err)
	}
	var cmds []*exec.Cmd
	for i := range o.Hosts {
		name, labels := HostName(i)
		cmd, err := d.hostCmd(o.Self, sum, name, labels)
		if err != nil {
			return err
		}
		cmds = append(cmds, cmd)
		d.Hosts = append(d.Hosts, name)
	}
	return d.fork(cmds)
}

// fork starts the hosts from one locked thread that lives until Close:
// their parent-death signal is tied to it, so a demo that dies takes its
// hosts with it.
func (d *Demo) fork(cmds []*exec.Cmd) error {
	started := make(chan error, 1)
	d.forked = true
	go func() {
		defer close(d.ended)
		sandbox.OnThread(func() {
			for _, c := range cmds {
				if err := c.Start(); err != nil {
					started <- fmt.Errorf("fleet demo: start host: %w", err)
					<-d.stop
					return
				}
				exited := make(chan struct{})
				d.kids, d.exits = append(d.kids, c), append(d.exits, exited)
				go func() { _ = c.Wait(); close(exited) }()
			}
			started <- nil
			<-d.stop
		})
	}()
	return <-started
}

// hostCmd writes host name's configuration and makes its command.
func (d *Demo) hostCmd(self, sum, name string, labels map[string]string) (*exec.Cmd, error) {
	dir := filepath.Join(d.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fleet demo: %w", err)
	}
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(hostConfig(self, sum, dir, d.URL, name, labels)), 0o600); err != nil {
		return nil, fmt.Errorf("fleet demo: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(dir, "plugvisor.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("fleet demo: %w", err)
	}
	cmd := exec.Command(self, "--no-tui", "--config", cfg)
	cmd.Env = hostEnv()
	cmd.Stdout, cmd.Stderr = io.Discard, logf // records reach the fleet over NATS
	// Its own process group, so a ctrl+c at the terminal reaches the demo,
	// which stops the hosts in order, rather than every host at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	return cmd, nil
}

// hostEnv is the demo's environment without a config of the operator's.
func hostEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PLUGVISOR_CONFIG=") {
			env = append(env, kv)
		}
	}
	return env
}

// hostConfig is one simulated host: the demo's plugins (a ticker, two echo
// instances, a crashing chaos) and the fleet on the demo's server.
func hostConfig(self, sum, dir, url, name string, labels map[string]string) string {
	plugin := func(table, args, extra string) string {
		return fmt.Sprintf("[plugins.%s]\nexec = %q\nargs = [%s]\nsha256 = %q\n%s\n", table, self, args, sum, extra)
	}
	return fmt.Sprintf(`[agent]
name = %q
work_dir = %q
heartbeat_interval = "1s"
heartbeat_timeout = "3s"

[fleet]
servers = [%q]
host = %q
labels = { env = %q, role = %q }

`, "plugvisor-"+name, filepath.Join(dir, "w"), url, name, labels["env"], labels["role"]) +
		plugin("ticker", `"plugin", "ticker", "--log"`, `restart = "always"`) +
		plugin("echo", `"plugin", "echo"`, "instances = 2") +
		plugin("chaos", `"plugin", "chaos", "--crash-after", "5s", "--log"`, `restart = "on-failure"`)
}

// Exited is closed when any host has exited, for a demo that should not
// go on without one.
func (d *Demo) Exited() <-chan struct{} {
	one := make(chan struct{})
	var once sync.Once
	for _, e := range d.exits {
		go func() {
			<-e
			once.Do(func() { close(one) })
		}()
	}
	return one
}

// Close stops every host (SIGTERM, then SIGKILL after StopGrace), the
// server, and removes the demo's directory. It may be called more than
// once.
func (d *Demo) Close() error {
	var err error
	d.once.Do(func() { err = d.close() })
	return err
}

func (d *Demo) close() error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i, c := range d.kids {
		wg.Go(func() {
			_ = c.Process.Signal(syscall.SIGTERM)
			select {
			case <-d.exits[i]:
			case <-time.After(StopGrace):
				_ = c.Process.Kill()
				<-d.exits[i]
				mu.Lock()
				errs = append(errs, fmt.Errorf("fleet demo: host %d killed after %s", i, StopGrace))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(d.stop)
	if d.forked {
		<-d.ended
	}
	if d.srv != nil {
		d.srv.stop()
	}
	if err := os.RemoveAll(d.dir); err != nil {
		errs = append(errs, fmt.Errorf("fleet demo: %w", err))
	}
	return errors.Join(errs...)
}
