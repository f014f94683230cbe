package natstest_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plugvisor/plugvisor/internal/natstest"
)

// A restarted server is where the stopped one was, with its streams: the
// outage the fleet link is tested against.
func TestRestartKeepsPortAndStreams(t *testing.T) {
	s := natstest.Start(t, natstest.Options{JetStream: true})
	url := s.URL()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AddStream(&nats.StreamConfig{Name: "S", Subjects: []string{"s.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish("s.1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	if s.URL() != url {
		t.Fatalf("restarted at %s, was %s", s.URL(), url)
	}
	reconnected := nc.StatusChanged(nats.CONNECTED)
	if !nc.IsConnected() {
		<-reconnected
	}
	info, err := js.StreamInfo("S")
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("stream after restart holds %d messages, want 1", info.State.Msgs)
	}
}
