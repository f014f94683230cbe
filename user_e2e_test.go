package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

// openPassage lets other users pass through (not list) the directories
// from dir up to the system's temporary directory. t.TempDir makes a 0700
// directory per test (os.MkdirTemp) under /tmp, and a plugin running as
// nobody must pass through it to reach its working directory and its
// socket under the work dir: without this, plugvisor rightly refuses to
// start it ("uid 65534 cannot reach ..."). Only the test's own directories
// are changed, to at most 0711: nobody can still list or read nothing of
// them.
func openPassage(t *testing.T, dir string) {
	t.Helper()
	top := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); strings.HasPrefix(d, top+"/"); d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if perm := st.Mode().Perm(); perm&0o001 == 0 {
			if err := os.Chmod(d, (perm&0o700)|0o011); err != nil {
				t.Fatal(err)
			}
			t.Logf("chmod %s %o → %o, so that nobody may pass through it", d, perm, (perm&0o700)|0o011)
		}
	}
}

// TestPluginRunsAsNobody: a plugin with user = "nobody" runs with
// nobody's uid and primary gid and no supplementary groups (root's group 0
// above all), connects to a socket of its own that only nobody may use,
// and that socket still admits only the plugin's own process: a root
// process connecting to it is refused.
func TestPluginRunsAsNobody(t *testing.T) {
	tmp := t.TempDir()
	nobody, err := user.Lookup("nobody")
	if err != nil {
		// No such user: the config must be refused at load, not run as
		// someone else.
		cfg := filepath.Join(tmp, "config.toml")
		writeFile(t, cfg, fmt.Sprintf("[agent]\nwork_dir = %q\n", filepath.Join(tmp, "w"))+chaosPlugin(t, "chaos", `user = "nobody"`))
		out, err := exec.Command(testutil.Bin("plugvisor"), "check", "--config", cfg).CombinedOutput()
		if exitCode(err) != 2 || !strings.Contains(string(out), "nobody") {
			t.Fatalf("no user nobody here, yet check says (exit %d):\n%s", exitCode(err), out)
		}
		t.Logf("no user nobody on this machine (%v): the config is refused", err)
		return
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	openPassage(t, tmp)
	c := startContained(t, tmp, chaosPlugin(t, "chaos", `user = "nobody"`), "chaos")
	st := c.status("chaos")
	if want := fmt.Sprintf("nobody (uid %d, gid %d)", uid, gid); st.User != want {
		t.Fatalf("status user %q, want %q", st.User, want)
	}

	// Who it runs as, by its own word and by the kernel's.
	who := c.answer("chaos", 17, "")
	if who["uid"] != nobody.Uid || who["gid"] != nobody.Gid || who["groups"] != "" {
		t.Fatalf("chaos runs as uid %s gid %s groups %q; want uid %s gid %s and no supplementary groups",
			who["uid"], who["gid"], who["groups"], nobody.Uid, nobody.Gid)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", st.PID))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for line := range strings.Lines(string(status)) {
		if k, v, ok := strings.Cut(line, ":"); ok && (k == "Uid" || k == "Gid" || k == "Groups") {
			ids[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	wantUID := strings.TrimSpace(strings.Repeat(nobody.Uid+" ", 4))
	wantGID := strings.TrimSpace(strings.Repeat(nobody.Gid+" ", 4))
	if ids["Uid"] != wantUID || ids["Gid"] != wantGID || ids["Groups"] != "" {
		t.Fatalf("/proc/%d/status: Uid %q Gid %q Groups %q; want %q, %q and none", st.PID, ids["Uid"], ids["Gid"], ids["Groups"], wantUID, wantGID)
	}
	t.Logf("chaos (pid %d): uid %s gid %s groups %q (Credential.Groups = []uint32{}: setgroups(0), none kept)", st.PID, who["uid"], who["gid"], who["groups"])

	// Its socket: its own, nobody's alone.
	sock := filepath.Join(c.work, "sockets", nobody.Uid+".sock")
	fi, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	owner := fi.Sys().(*syscall.Stat_t).Uid
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 || int(owner) != uid {
		t.Fatalf("%s: mode %s owner %d; want a socket, 0600, owned by %d", sock, fi.Mode(), owner, uid)
	}
	env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", st.PID))
	if !strings.Contains(string(env), "\x00"+protocol.EnvSocket+"="+sock+"\x00") && !strings.HasPrefix(string(env), protocol.EnvSocket+"="+sock+"\x00") {
		t.Fatalf("chaos was not given %s as its socket", sock)
	}

	// Root can open any socket file; registration is what must refuse it.
	// The supervisor refuses a peer in no plugin's process group before it
	// reads a byte, so the hello never reaches the uid check (checkPeer,
	// which TestCheckPeerWantsThePluginsUID covers): the refusal is the
	// stranger's, and it names this process.
	refusedBefore := c.info().RefusedConns
	rej := helloFrom(t, sock, &protocol.Hello{Versions: protocol.Versions(), Name: "chaos", Instance: "chaos", PID: os.Getpid()})
	want := fmt.Sprintf("pid %d is not in the process group of any plugin this supervisor started", os.Getpid())
	if rej.Code != protocol.RejectCredentials || !strings.Contains(rej.Reason, want) {
		t.Fatalf("hello from root on %s: reject %s %q; want %s containing %q", sock, rej.Code, rej.Reason, protocol.RejectCredentials, want)
	}
	t.Logf("hello from uid %d on %s: rejected %s: %s", os.Getuid(), sock, rej.Code, rej.Reason)
	if in := c.info(); in.RefusedConns <= refusedBefore {
		t.Fatalf("refused connections %d, was %d", in.RefusedConns, refusedBefore)
	}

	// A process of another user (daemon) cannot even connect to nobody's
	// socket: the echo plugin, started by hand as daemon with nobody's
	// socket, fails to register with permission denied.
	otherUID, otherGID := 1, 1
	if other, err := user.LookupId("1"); err == nil {
		otherGID, _ = strconv.Atoi(other.Gid)
	}
	// The build's own directory is root's alone: a copy daemon may run.
	bin := filepath.Join(tmp, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.CopyExecutable(t, testutil.Bin("plugvisor"), filepath.Join(bin, "plugvisor"))
	_, out, err := testutil.CombinedOutput(func() *exec.Cmd {
		imp := exec.Command(filepath.Join(bin, "plugvisor"), "plugin", "echo")
		imp.Env = []string{protocol.EnvSocket + "=" + sock, protocol.EnvPlugin + "=chaos", protocol.EnvInstance + "=chaos"}
		imp.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(otherUID), Gid: uint32(otherGID), Groups: []uint32{}}}
		return imp
	})
	if err == nil || !strings.Contains(string(out), "permission denied") {
		t.Fatalf("a plugin process of uid %d on nobody's socket: %v\n%s\nwant it refused with permission denied", otherUID, err, out)
	}
	t.Logf("uid %d on %s: %s", otherUID, sock, strings.TrimSpace(string(out)))

	// The plugin itself was not disturbed.
	if again := c.answer("chaos", 17, ""); again["uid"] != nobody.Uid {
		t.Fatalf("chaos after the refused hello: %v", again)
	}
	if now := c.status("chaos"); now.State != supervisor.StateRunning || now.PID != st.PID {
		t.Fatalf("chaos after the refused hello: %s pid %d (was %d)", now.State, now.PID, st.PID)
	}
}

// helloFrom connects to a plugin socket, sends hello and returns the
// reject it must get.
func helloFrom(t *testing.T, sock string, hello *protocol.Hello) *protocol.Reject {
	t.Helper()
	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	conn := protocol.NewConn(nc, protocol.Options{ReadTimeout: 30 * time.Second}) // a hang becomes a failure
	defer conn.Close()
	// A stranger is refused unread: the reject may be on its way before
	// the hello is written, and a write after the close fails (EPIPE).
	// The reject is in this end's buffer either way.
	if err := conn.Send(hello); err != nil && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("sending hello: %v", err)
	}
	m, err := conn.Recv()
	if err != nil {
		t.Fatalf("no reply to hello: %v", err)
	}
	rej, ok := m.(*protocol.Reject)
	if !ok {
		t.Fatalf("hello from uid %d was answered %s, not reject", os.Getuid(), m.Kind())
	}
	return rej
}
