package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// bins are the executables every contender runs, built once per run from
// the code under test.
type bins struct {
	Dir       string            `json:"dir"`
	Plugvisor string            `json:"plugvisor"` // the daemon
	Echo      string            `json:"echo"`      // plugvisor's echo example (the sdk)
	Chaos     string            `json:"chaos"`     // plugvisor's chaos example: floods records on task 3
	RawEcho   string            `json:"rawecho"`
	GPEcho    string            `json:"gpecho"`
	SHA256    map[string]string `json:"sha256"`
}

// trustAge is how old a file's ctime must be before plugvisor's verifier
// trusts its cached hash; younger binaries are hashed at every start,
// which installed plugins never are.
const trustAge = 3 * time.Second

// build compiles plugvisor, its example plugins, and this module's raw and
// go-plugin peers into a fresh directory, hashes them, and waits until the
// verifier would trust them.
func build(ctx context.Context) (*bins, error) {
	root, err := moduleDir(ctx, "github.com/plugvisor/plugvisor")
	if err != nil {
		return nil, err
	}
	self, err := moduleDir(ctx, "github.com/plugvisor/plugvisor/bench/peers")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pvpeer-bin")
	if err != nil {
		return nil, fmt.Errorf("build dir: %w", err)
	}
	b := &bins{Dir: dir, Plugvisor: filepath.Join(dir, "plugvisor"), Echo: filepath.Join(dir, "echo"),
		Chaos: filepath.Join(dir, "chaos"), RawEcho: filepath.Join(dir, "rawecho"), GPEcho: filepath.Join(dir, "gpecho"),
		SHA256: map[string]string{}}
	steps := []struct {
		cwd  string
		args []string
	}{
		{root, []string{"-o", b.Plugvisor, "."}},
		{root, []string{"-o", dir + "/", "./examples/cmd/echo", "./examples/cmd/chaos"}},
		{self, []string{"-o", dir + "/", "./cmd/rawecho", "./cmd/gpecho"}},
	}
	for _, s := range steps {
		cmd := exec.CommandContext(ctx, "go", append([]string{"build"}, s.args...)...)
		cmd.Dir = s.cwd
		if out, err := cmd.CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("go build %s: %w\n%s", strings.Join(s.args, " "), err, out)
		}
	}
	for _, p := range []string{b.Plugvisor, b.Echo, b.Chaos, b.RawEcho, b.GPEcho} {
		if b.SHA256[p], err = fileSHA256(p); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	return b, settle(ctx, b.Plugvisor, b.Echo, b.Chaos, b.RawEcho, b.GPEcho)
}

func moduleDir(ctx context.Context, mod string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", mod).Output()
	if err != nil {
		return "", fmt.Errorf("locate module %s: %w", mod, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// settle waits until every path is older than trustAge.
func settle(ctx context.Context, paths ...string) error {
	var wait time.Duration
	for _, p := range paths {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return fmt.Errorf("settle: %w", err)
		}
		wait = max(wait, trustAge-time.Since(time.Unix(st.Ctim.Unix())))
	}
	select {
	case <-time.After(wait):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
