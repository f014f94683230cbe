package supervisor

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/protocol"
)

// bins holds the example plugins, built once for the whole package.
var bins struct {
	dir  string
	self string // this test binary, which doubles as a misbehaving plugin
}

func TestMain(m *testing.M) {
	RunWatchdogIfRequested()
	if role := os.Getenv("PV_TEST_ROLE"); role != "" {
		os.Exit(runRole(role))
	}
	dir, err := os.MkdirTemp("", "pvbin")
	if err != nil {
		panic(err)
	}
	build := exec.Command("go", "build", "-o", dir+"/", "../examples/cmd/...", "./testdata/anchor")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building example plugins:", err)
		os.Exit(2)
	}
	bins.dir = dir
	bins.self, _ = os.Executable()
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runRole makes this test binary a plugin that misbehaves on the wire after
// registering correctly.
func runRole(role string) int {
	c, err := net.Dial("unix", os.Getenv(protocol.EnvSocket))
	if err != nil {
		return 3
	}
	conn := protocol.NewConn(c, protocol.Options{})
	hello := &protocol.Hello{Versions: protocol.Versions(), Name: os.Getenv(protocol.EnvPlugin), Instance: os.Getenv(protocol.EnvInstance), PID: os.Getpid()}
	if role == "futureversion" {
		hello.Versions = []uint16{98, 99}
	}
	if err := conn.Send(hello); err != nil {
		return 4
	}
	m, err := conn.Recv()
	if err != nil {
		return 5
	}
	if rej, ok := m.(*protocol.Reject); ok {
		fmt.Fprintf(os.Stderr, "rejected: %s: %s\n", rej.Code, rej.Reason)
		return 6
	}
	switch role {
	case "twice":
		c2, err := net.Dial("unix", os.Getenv(protocol.EnvSocket))
		if err != nil {
			return 3
		}
		conn2 := protocol.NewConn(c2, protocol.Options{})
		conn2.Send(hello)
		if m, err := conn2.Recv(); err == nil {
			if rej, ok := m.(*protocol.Reject); ok {
				fmt.Fprintf(os.Stderr, "second connection: %s: %s\n", rej.Code, rej.Reason)
			}
		}
	case "oversize":
		c.Write([]byte{0x7f, 0xff, 0xff, 0xff})
	case "garbage":
		c.Write([]byte{0, 0, 0, 3, 0xc1, 0xc1, 0xc1})
	}
	io.Copy(io.Discard, c) // wait to be disconnected
	return 0
}

func fileSHA(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func bin(name string) string { return filepath.Join(bins.dir, name) }

// waitUntil polls cond until it holds or the deadline passes. The deadline
// only bounds a hung test; it asserts nothing about speed.
func waitUntil(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
