package supervisor

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// Beyond the first 64 waiting connections, the pool shared by instances
// being started (their plugins' groups not recorded yet) takes only a
// process the supervisor started: any other process whose group is no
// instance's, this test among them, is a stranger and is shed.
func TestAdmitSharedPoolOnlyStarted(t *testing.T) {
	for _, starting := range []int{1, 2} { // one starting instance is no exception
		t.Run(map[int]string{1: "one starting", 2: "two starting"}[starting], func(t *testing.T) {
			admitOnlyStarted(t, starting)
		})
	}
}

func admitOnlyStarted(t *testing.T, starting int) {
	kids := newChildren()
	s := &Supervisor{env: &instanceEnv{launcher: &launcher{kids: kids}}}
	for range starting {
		in := &instance{}
		in.st.State = StateStarting
		s.order = append(s.order, in)
	}
	s.reg.pending.Store(maxUnregistered)
	a, b := unixPair(t)
	defer b.Close()
	if release, ok := s.admit(a); ok {
		release()
		t.Fatal("a process the supervisor did not start took a place in the shared pool")
	}
	kids.start(func() int { return os.Getpid() }) // as if this process were a plugin's first
	release, ok := s.admit(a)
	if !ok {
		t.Fatal("a process the supervisor started was shed from the shared pool")
	}
	release()
}

func unixPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "pair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	a, b := conn(fds[0]), conn(fds[1])
	t.Cleanup(func() { a.Close() })
	return a, b
}
