package supervisor_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/msgpack"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

func TestMain(m *testing.M) {
	if role := os.Getenv("PV_TEST_ROLE"); role != "" {
		os.Exit(runRole(role))
	}
	os.Exit(supervisortest.Main(m))
}

// self is this test binary, which doubles as a misbehaving plugin.
func self() string {
	exe, _ := os.Executable()
	return exe
}

// runRole makes this test binary a plugin that misbehaves on the wire after
// registering correctly.
func runRole(role string) int {
	if role == "joiner" {
		// Move into another plugin's process group (allowed within one
		// session) before connecting, as a hostile sibling would.
		pgid, _ := strconv.Atoi(os.Getenv("PV_TEST_PGID"))
		if err := syscall.Setpgid(0, pgid); err != nil {
			fmt.Printf("setpgid: %v\n", err)
			return 7
		}
	}
	var big []byte
	if role == "millionrecords" { // built before registering: it takes longer than a heartbeat under -race
		big = millionRecords()
	}
	c, err := net.Dial("unix", os.Getenv(protocol.EnvSocket))
	if err != nil {
		return 3
	}
	if role == "gated" { // connected, it says so, then waits for the test's gate to open
		fmt.Println("connected")
		if gate, err := os.Open(os.Getenv("PV_TEST_GATE")); err == nil {
			gate.Close()
		}
	}
	conn := protocol.NewConn(c, protocol.Options{})
	hello := &protocol.Hello{Versions: protocol.Versions(), Name: os.Getenv(protocol.EnvPlugin), Instance: os.Getenv(protocol.EnvInstance), PID: os.Getpid()}
	if role == "futureversion" {
		hello.Versions = []uint16{98, 99}
	}
	if err := sendHello(c, conn, hello, role); err != nil {
		return 4
	}
	m, err := conn.Recv()
	if err != nil {
		return 5
	}
	if rej, ok := m.(*protocol.Reject); ok {
		fmt.Fprintf(os.Stderr, "rejected: %s: %s\n", rej.Code, rej.Reason)
		fmt.Printf("rejected: %s: %s\n", rej.Code, rej.Reason)
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
	case "pingflood":
		// Never read: pongs pile up in our socket until the supervisor's
		// writes block. Its read loop must keep reading regardless.
		for i := range 50_000 {
			if conn.Send(&protocol.Ping{Seq: uint64(i)}) != nil {
				return 8
			}
		}
		conn.Send(&protocol.Data{Records: []protocol.Record{{Timestamp: 1, Fields: map[string]string{"data_type": "after-pings"}}}})
		time.Sleep(time.Minute)
	case "oversize":
		c.Write([]byte{0x7f, 0xff, 0xff, 0xff})
	case "millionrecords":
		c.Write(big)
	case "wrongway": // a well-formed frame only a supervisor may send
		conn.Send(&protocol.Task{ID: 1, Token: "t"})
	case "garbage", "garbage-stubborn":
		c.Write([]byte{0, 0, 0, 3, 0xc1, 0xc1, 0xc1})
	}
	io.Copy(io.Discard, c) // wait to be disconnected
	fmt.Fprintln(os.Stderr, "disconnected")
	if role == "garbage-stubborn" {
		outstay()
	}
	return 0
}

// sendHello sends hello, or for the roles that say hello wrongly, a frame
// the encoder would refuse to write.
func sendHello(c net.Conn, conn *protocol.Conn, hello *protocol.Hello, role string) error {
	switch role {
	case "nopid":
		_, err := c.Write(rawFrame("kind", "hello", "versions", hello.Versions, "name", hello.Name, "instance", hello.Instance))
		return err
	case "noversions":
		_, err := c.Write(rawFrame("kind", "hello", "versions", []uint16{}, "name", hello.Name, "instance", hello.Instance, "pid", hello.PID))
		return err
	case "notamap":
		_, err := c.Write([]byte{0, 0, 0, 1, 0xc1})
		return err
	case "hugekind":
		_, err := c.Write(rawFrame("kind", strings.Repeat("k", 10_000)))
		return err
	case "pingfirst":
		_, err := c.Write(rawFrame("kind", "ping", "seq", 1, "time", 1))
		return err
	case "unknownname":
		hello.Name, hello.Instance = "nosuch", ""
	case "hugeversion": // 4 MiB: what broke ctl status for every plugin
		// Written aside: the supervisor refuses it from its length and
		// closes, so the write may never finish; the reject is read below.
		frame := rawFrame("kind", "hello", "versions", hello.Versions, "name", hello.Name, "instance", hello.Instance,
			"pid", hello.PID, "version", strings.Repeat("v", protocol.DefaultMaxFrame-200))
		go c.Write(frame)
		return nil
	}
	return conn.Send(hello)
}

// millionRecords is one data frame of a million of the smallest records, 32
// bytes each: decoded whole, it would cost the supervisor hundreds of MB.
func millionRecords() []byte {
	rec := msgpack.AppendMapHeader(nil, 2)
	rec = msgpack.AppendKeyInt(rec, "timestamp", 1)
	rec = msgpack.AppendMapHeader(msgpack.AppendString(rec, "fields"), 1)
	rec = msgpack.AppendKeyString(rec, "data_type", "x")
	const n = 1_000_000
	b := msgpack.AppendMapHeader(make([]byte, protocol.HeaderSize, protocol.HeaderSize+64+n*len(rec)), 2)
	b = msgpack.AppendKeyString(b, "kind", "data")
	b = msgpack.AppendArrayHeader(msgpack.AppendString(b, "records"), n)
	for range n {
		b = append(b, rec...)
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-protocol.HeaderSize))
	return b
}

// outstay stays on after its connection ended, saying which signals it
// ignored, until it is killed.
func outstay() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	for sig := range sigs {
		fmt.Fprintln(os.Stderr, "ignored", sig)
	}
}

// rawFrame is a frame holding a map of the key/value pairs kv (string,
// int or []uint16 values), written without the encoder's checks.
func rawFrame(kv ...any) []byte {
	b := msgpack.AppendMapHeader(make([]byte, protocol.HeaderSize), len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		b = msgpack.AppendString(b, kv[i].(string))
		switch v := kv[i+1].(type) {
		case string:
			b = msgpack.AppendString(b, v)
		case int:
			b = msgpack.AppendUint(b, uint64(v))
		case []uint16:
			b = msgpack.AppendUint16s(b, v)
		}
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-protocol.HeaderSize))
	return b
}
