package fleet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

// permPasswordFile writes text to a new file of mode perm.
func permPasswordFile(t *testing.T, text string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(path, []byte(text), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

// An operator logs in with a user and a password file, from the URL or
// with an NKey, on a server running the generated permissions, and takes
// its replies on its own inbox, the one a host may answer on.
func TestConnectOperatorLogsInAndHearsItsHosts(t *testing.T) {
	opKey, opPub := permUserKey(t)
	seed, err := opKey.Seed()
	if err != nil {
		t.Fatal(err)
	}
	seedFile := permPasswordFile(t, string(seed)+"\n", 0o600)
	o := permTwoHosts()
	o.Operators = append(o.Operators, OperatorUser{NKey: opPub, Hosts: []string{"a"}})
	s := permServer(t, o)
	permServe(t, permHost(t, s, "a", permPassword("a", "pa")), "a")
	url := s.ClientURL()

	for _, c := range []struct {
		name string
		o    OperatorOptions
	}{
		{"password file", OperatorOptions{URL: url, User: "ops", PasswordFile: permPasswordFile(t, "po\n", 0o600)}},
		{"password file without a newline", OperatorOptions{URL: url, User: "ops", PasswordFile: permPasswordFile(t, "po", 0o400)}},
		{"user in the URL", OperatorOptions{URL: strings.Replace(url, "nats://", "nats://ops:po@", 1)}},
		{"nkey", OperatorOptions{URL: url, NKeySeed: seedFile}},
	} {
		t.Run(c.name, func(t *testing.T) {
			op, err := ConnectOperator(c.o)
			if err != nil {
				t.Fatal(err)
			}
			defer op.Close()
			m, err := op.Conn.Request(Subjects{permPrefix, "a"}.API("whoami"), nil, permWait)
			if err != nil || string(m.Data) != "a" {
				t.Fatalf("call a: %v %v", m, err)
			}
		})
	}

	if _, err := ConnectOperator(OperatorOptions{URL: url, User: "ops", PasswordFile: permPasswordFile(t, "wrong\n", 0o600)}); !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("a wrong password: %v, want %v", err, nats.ErrAuthorization)
	}
}

func TestReadPasswordFileRefuses(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	readable := permPasswordFile(t, "po\n", 0o640)
	others := permPasswordFile(t, "po\n", 0o604)
	empty := permPasswordFile(t, "\n", 0o600)
	twoLines := permPasswordFile(t, "po\nmore\n", 0o600)
	long := permPasswordFile(t, strings.Repeat("p", confMaxPassword+3), 0o600)
	for _, c := range []struct{ path, want string }{
		{readable, "password file " + readable + ": mode 0640 lets its group or others read it"},
		{others, "password file " + others + ": mode 0604"},
		{dir, "password file " + dir + ": not a regular file"},
		{filepath.Join(dir, "missing"), "password file: open " + filepath.Join(dir, "missing")},
		{empty, "password file " + empty + ": no password"},
		{twoLines, "password file " + twoLines + ": password holds a control character"},
		{long, "password file " + long + ": longer than"},
	} {
		if _, err := ReadPasswordFile(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadPasswordFile(%s): %v, want %q", c.path, err, c.want)
		}
	}
	if pw, err := ReadPasswordFile(permPasswordFile(t, "p w\r\n", 0o600)); err != nil || pw != "p w" {
		t.Errorf("ReadPasswordFile = %q, %v; want the line without its ending", pw, err)
	}
	if _, err := ConnectOperator(OperatorOptions{URL: "nats://127.0.0.1:1", PasswordFile: permPasswordFile(t, "po", 0o600)}); err == nil ||
		!strings.Contains(err.Error(), "no user") {
		t.Errorf("a password file without a user: %v", err)
	}
}
