package supervisor

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/plugvisor/plugvisor/registry"
)

// TestCheckPeerWantsThePluginsUID: registration accepts exactly the uid
// the plugin runs as. The peer here is this very process, so its process
// group and ancestry are right (it is the "leader"); only the uid differs,
// and the uid is checked first, before anything else could refuse it.
func TestCheckPeerWantsThePluginsUID(t *testing.T) {
	pid, uid := os.Getpid(), os.Getuid()
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPeer(uint32(uid), uid, pid, pgid, pid); err != nil {
		t.Fatalf("the plugin's own uid, group and process refused: %v", err)
	}
	other := 65534
	if uid == other {
		other = 65533
	}
	for _, tc := range []struct {
		name           string
		peer, want     int
		wantPGID, lead int
	}{
		{"supervisor's uid for a plugin of another", uid, other, pgid, pid},
		{"another uid for a plugin of the supervisor's", other, uid, pgid, pid},
		{"another uid, and no process running", other, uid, 0, 0},
		{"another uid, and the wrong group", other, uid, pgid + 1, 1},
	} {
		err := checkPeer(uint32(tc.peer), tc.want, pid, tc.wantPGID, tc.lead)
		want := fmt.Sprintf("peer uid %d is not uid %d, which the plugin runs as", tc.peer, tc.want)
		if err == nil || err.Error() != want {
			t.Errorf("%s: checkPeer says %v, want %q", tc.name, err, want)
		}
	}
}

// TestProcessAttrsDropGroups: a plugin with a user is started as exactly
// that uid and gid with setgroups(0): NoSetGroups stays false, so the
// runtime calls setgroups with the empty list and root's supplementary
// groups are not inherited. A plugin without one keeps the supervisor's
// credentials (no Credential at all). Either way it leads a process group
// of its own and dies with its forking thread.
func TestProcessAttrsDropGroups(t *testing.T) {
	a := processAttrs(&registry.Plugin{UID: 65534, GID: 65534})
	cred := a.Credential
	if cred == nil || cred.Uid != 65534 || cred.Gid != 65534 || len(cred.Groups) != 0 || cred.NoSetGroups {
		t.Fatalf("credential %+v: want uid and gid 65534, no groups, setgroups called", cred)
	}
	if !a.Setpgid || a.Pdeathsig != syscall.SIGKILL || a.UseCgroupFD {
		t.Fatalf("attrs %+v: want Setpgid, Pdeathsig SIGKILL, no cgroup fd without a group", a)
	}
	if a := processAttrs(&registry.Plugin{UID: -1, GID: -1}); a.Credential != nil {
		t.Fatalf("a plugin of the supervisor's user gets credential %+v", a.Credential)
	}
}

// TestDeadOwner tells a dead supervisor's cgroups from a live one's by the
// name alone: pid, start time and pid namespace, so that neither a reused
// pid nor a supervisor in another pid namespace is taken for dead.
func TestDeadOwner(t *testing.T) {
	self := parentName()
	ns := pidNamespace()
	start := startTime(os.Getpid())
	for name, want := range map[string]bool{
		self: false,
		fmt.Sprintf("plugvisor-999999999-%d-%d-ab", start, ns):         true,  // no such pid
		fmt.Sprintf("plugvisor-%d-%d-%d-ab", os.Getpid(), start+1, ns): true,  // the pid, reused
		fmt.Sprintf("plugvisor-999999999-%d-%d-ab", start, ns+1):       false, // another pid namespace
		"plugvisor-test-123-TestX":                                     false, // not a supervisor's
		"plugvisor-123":                                                false,
	} {
		if got := deadOwner(name); got != want {
			t.Errorf("deadOwner(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestSandboxPathUnderPluginsDir: a sandbox path whose directory the
// plugin's user can write is refused, naming both: the plugin could swap
// the path for a link before its next start. One in a sticky directory,
// owned by someone else, is not.
func TestSandboxPathUnderPluginsDir(t *testing.T) {
	tmp := t.TempDir() // under /tmp: sticky, and the test's own entries in it
	own := tmp + "/own"
	if err := os.Mkdir(own, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &registry.Plugin{Name: "boxed", UID: 65534, GID: 65534, Sandbox: &registry.Sandbox{ReadOnly: []string{own + "/data", tmp}}}
	if err := checkSandboxPaths(p); err != nil {
		t.Fatalf("paths the plugin cannot replace: %v", err)
	}
	if err := os.Chown(own, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	err := checkSandboxPaths(p)
	if want := "sandbox path " + own + "/data: " + own; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to start %q", err, want)
	}
}
