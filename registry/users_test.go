package registry

import (
	"bufio"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// testAccount is a user the test may name, with what os/user says of it.
type testAccount struct {
	name     string
	uid, gid int
	group    string // name of the primary group
}

func lookupAccount(t *testing.T, u *user.User) testAccount {
	t.Helper()
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Fatalf("primary group of %s: %v", u.Username, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return testAccount{name: u.Username, uid: uid, gid: gid, group: g.Name}
}

// accountsForTest returns the test's own user and another one whose uid
// and primary group both differ from it, taken from /etc/passwd (root for
// any other user; a system account such as daemon for root), so the
// checks below can tell a user's ids from the supervisor's.
func accountsForTest(t *testing.T) (self, other testAccount) {
	t.Helper()
	cur, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	self = lookupAccount(t, cur)
	f, err := os.Open("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 4 || fields[2] == cur.Uid || fields[3] == cur.Gid {
			continue
		}
		u, err := user.Lookup(fields[0])
		if err != nil || u.Gid == cur.Gid {
			continue
		}
		if _, err := user.LookupGroupId(u.Gid); err == nil {
			return self, lookupAccount(t, u)
		}
	}
	t.Fatal("/etc/passwd lists no user besides the test's own with a different primary group")
	return
}

func TestUserAndGroupResolve(t *testing.T) {
	self, other := accountsForTest(t)
	dir := t.TempDir()
	exe := writeScript(t, dir, "p", "exit 0")
	plugin := func(name, keys string) string {
		return fmt.Sprintf("[plugins.%s]\nexec = %q\nsha256 = %q\n%s\n", name, exe, sha256Hex(name), keys)
	}
	load := func(agent string, plugins ...string) *Config {
		t.Helper()
		src := "[agent]\nwork_dir = \"w\"\n" + agent + "\n" + strings.Join(plugins, "")
		cfg, err := Parse(filepath.Join(dir, "c.toml"), []byte(src))
		if err != nil {
			t.Fatalf("config:\n%s\n%v", src, err)
		}
		return cfg
	}
	type want struct {
		user, group string
		uid, gid    int
	}
	check := func(cfg *Config, name string, w want) {
		t.Helper()
		p := cfg.Plugin(name)
		if got := (want{p.User, p.Group, p.UID, p.GID}); got != w {
			t.Errorf("%s: got %+v, want %+v", name, got, w)
		}
	}

	cfg := load("", plugin("plain", ""),
		plugin("byname", fmt.Sprintf("user = %q", other.name)),
		plugin("byid", fmt.Sprintf("user = %d", other.uid)),
		plugin("idstring", fmt.Sprintf("user = \"%d\"", other.uid)),
		plugin("both", fmt.Sprintf("user = %q\ngroup = %q", other.name, self.group)),
		plugin("grouponly", fmt.Sprintf("group = %q", other.group)),
		plugin("groupid", fmt.Sprintf("group = %d", other.gid)))
	check(cfg, "plain", want{"", "", -1, -1})
	check(cfg, "byname", want{other.name, "", other.uid, other.gid})
	check(cfg, "byid", want{strconv.Itoa(other.uid), "", other.uid, other.gid})
	check(cfg, "idstring", want{strconv.Itoa(other.uid), "", other.uid, other.gid})
	check(cfg, "both", want{other.name, self.group, other.uid, self.gid})
	check(cfg, "grouponly", want{"", other.group, -1, other.gid})
	check(cfg, "groupid", want{"", strconv.Itoa(other.gid), -1, other.gid})

	// The agent's pair is every plugin's default; a plugin's own user does
	// not take the agent's group, its own group keeps the agent's user.
	cfg = load(fmt.Sprintf("user = %q\ngroup = %q", other.name, self.group),
		plugin("plain", ""),
		plugin("ownuser", fmt.Sprintf("user = %q", self.name)),
		plugin("owngroup", fmt.Sprintf("group = %q", other.group)))
	check(cfg, "plain", want{other.name, self.group, other.uid, self.gid})
	check(cfg, "ownuser", want{self.name, "", self.uid, self.gid})
	check(cfg, "owngroup", want{other.name, other.group, other.uid, other.gid})
	if cfg.Agent.User != other.name || cfg.Agent.Group != self.group {
		t.Errorf("agent user %q group %q", cfg.Agent.User, cfg.Agent.Group)
	}
}

// An unknown name is reported once, where it was written: the agent's
// default is not blamed again on each plugin that inherits it.
func TestUnknownUserReportedOnceAtItsKey(t *testing.T) {
	dir := t.TempDir()
	exe := writeScript(t, dir, "p", "exit 0")
	path := filepath.Join(dir, "c.toml")
	src := fmt.Sprintf(`[agent]
work_dir = "w"
user = "no-such-user-plugvisor"
[plugins.a]
exec = %[1]q
sha256 = %[2]q
[plugins.b]
exec = %[1]q
sha256 = %[2]q
group = "no-such-group-plugvisor"
`, exe, sha256Hex("x"))
	_, err := Parse(path, []byte(src))
	want := path + `:3: agent.user: unknown user "no-such-user-plugvisor"` + "\n" +
		path + `:10: plugins.b.group: unknown group "no-such-group-plugvisor"`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// user = "none" turns the agent's default user off for one plugin: it runs
// as plugvisor's own.
func TestUserNoneTurnsTheDefaultOff(t *testing.T) {
	_, other := accountsForTest(t)
	dir := t.TempDir()
	exe := writeScript(t, dir, "p", "exit 0")
	src := fmt.Sprintf("[agent]\nwork_dir = \"w\"\nuser = %q\n[plugins.mine]\nexec = %q\nsha256 = %q\nuser = \"none\"\n[plugins.theirs]\nexec = %q\nsha256 = %q\n",
		other.name, exe, sha256Hex("a"), exe, sha256Hex("b"))
	cfg, err := Parse(filepath.Join(dir, "c.toml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Plugin("mine"); p.UID != -1 || p.GID != -1 {
		t.Errorf("mine: uid %d gid %d, want -1 -1 (plugvisor's own)", p.UID, p.GID)
	}
	if p := cfg.Plugin("theirs"); p.UID != other.uid {
		t.Errorf("theirs: uid %d, want the agent's %d", p.UID, other.uid)
	}
}
