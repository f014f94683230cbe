package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/plugvisor/plugvisor/internal/natstest"
	"github.com/plugvisor/plugvisor/internal/testutil"
)

// BenchmarkFleetTenHosts: records/s stored in one JetStream stream from 10
// real plugvisor processes at once, each running the chaos plugin flooding
// 5,000 records/s (50,000/s offered), all on this machine with the server.
// stored/s is what the stream grew by over a 3 s window once every host
// publishes; taken/s what the engines took from their plugins meanwhile;
// stored/taken says what the link kept up with.
//
//	go test -run '^$' -bench FleetTenHosts -benchtime 1x .
func BenchmarkFleetTenHosts(b *testing.B) {
	srv := natstest.Start(b, natstest.Options{JetStream: true})
	self := testutil.Bin("plugvisor")
	var hosts []*fleetHost
	for i := range 10 {
		plugin := fmt.Sprintf("[plugins.chaos]\nexec = %q\nargs = [\"plugin\", \"chaos\", \"--flood-rate\", \"5000\"]\nsha256 = %q\n", self, sha(b, self))
		hosts = append(hosts, startFleetHost(b, srv.URL(), fmt.Sprintf("bench-%d", i), "", plugin))
	}
	for _, h := range hosts {
		testutil.WaitUntil(b, h.name+" publishing", 60*time.Second, func() bool {
			return value(h.scrape(b), "plugvisor_fleet_records_acked_total") > 1000
		})
	}
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	stream, err := js.Stream(context.Background(), "PLUGVISOR_RECORDS")
	if err != nil {
		b.Fatal(err)
	}
	stored := func() float64 {
		info, err := stream.Info(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		return float64(info.State.Msgs)
	}
	taken := func() float64 {
		var n float64
		for _, h := range hosts {
			n += value(h.scrape(b), "plugvisor_plugin_records_total", "instance", "chaos")
		}
		return n
	}
	var storedRate, takenRate float64
	for range b.N {
		s0, t0, start := stored(), taken(), time.Now()
		time.Sleep(3 * time.Second) // the measurement window
		s1, t1 := stored(), taken()
		d := time.Since(start).Seconds()
		storedRate += (s1 - s0) / d
		takenRate += (t1 - t0) / d
	}
	n := float64(b.N)
	b.ReportMetric(storedRate/n, "stored/s")
	b.ReportMetric(takenRate/n, "taken/s")
	b.ReportMetric(storedRate/takenRate, "stored/taken")
	for _, h := range hosts {
		_ = h.cmd.Process.Kill()
	}
}
