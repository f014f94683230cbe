package fleet_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/plugvisor/plugvisor/fleet"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
)

func TestEventRoundTrip(t *testing.T) {
	at := time.Unix(1700000000, 5)
	in := supervisor.Event{Type: supervisor.EventTask, Time: at, Plugin: "echo", Instance: "echo.1",
		Task: &supervisor.TaskEvent{Sent: at, ID: 2, Token: "t", Outcome: supervisor.OutcomeAnswered,
			Reply: supervisor.Reply{Outcome: supervisor.OutcomeAnswered, RTT: time.Millisecond, Records: []protocol.Record{{Timestamp: 1, Fields: map[string]string{"data_type": "r"}}}}}}
	b, err := fleet.EncodeEvent(&in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := fleet.DecodeEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Time.Equal(at) || out.Instance != "echo.1" || out.Task.Reply.RTT != time.Millisecond || out.Task.Reply.Records[0].DataType() != "r" {
		t.Fatalf("decoded %+v", out)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"time":"2024-01-01T00:00:00Z"}`, "no type"},
		{`[]`, "decode event"},
		{`{"type":"state"` + strings.Repeat(" ", fleet.MaxEventBytes) + `}`, "at most 8388608"},
	} {
		if _, err := fleet.DecodeEvent([]byte(tc.body)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeEvent(%.30q): %v, want %q", tc.body, err, tc.want)
		}
	}
}

func TestDecodeRecord(t *testing.T) {
	subj := fleet.Subjects{Prefix: "a.b.c", Host: "h"}
	msg := func(subject string, hdr map[string]string, body string) *nats.Msg {
		m := nats.NewMsg(subject)
		for k, v := range hdr {
			m.Header.Set(k, v)
		}
		m.Data = []byte(body)
		return m
	}
	good := map[string]string{fleet.HeaderInstance: "p.0", fleet.HeaderTimestamp: "42"}
	plugin, instance, rec, err := fleet.DecodeRecord(msg(subj.Records("p", "odd type.x"), good, `{"data_type":"odd type.x","k":"v"}`))
	if err != nil || plugin != "p" || instance != "p.0" || rec.Timestamp != 42 || rec.Token != "" || rec.DataType() != "odd type.x" || rec.Fields["k"] != "v" {
		t.Fatalf("decoded %q %q %+v %v", plugin, instance, rec, err)
	}
	many := make([]string, fleet.MaxRecordFields+1)
	for i := range many {
		many[i] = fmt.Sprintf(`"f%d":""`, i)
	}
	for _, tc := range []struct {
		subject string
		hdr     map[string]string
		body    string
		want    string
	}{
		{subj.Event("p"), good, `{}`, "is not <prefix>.rec.<host>.<plugin>.<data_type>"},
		{"rec.h.p", good, `{}`, "is not <prefix>.rec"},
		{subj.Records("p", "t"), map[string]string{fleet.HeaderTimestamp: "1"}, `{}`, "no Plugvisor-Instance header"},
		{subj.Records("p", "t"), map[string]string{fleet.HeaderInstance: "p", fleet.HeaderTimestamp: "soon"}, `{}`, `Plugvisor-Timestamp "soon" is not unix nanoseconds`},
		{subj.Records("p", "t"), map[string]string{fleet.HeaderInstance: "p"}, `{}`, `Plugvisor-Timestamp "" is not`},
		{subj.Records("p", "t"), map[string]string{fleet.HeaderInstance: strings.Repeat("i", 5000), fleet.HeaderTimestamp: "1"}, `{}`, "header over 4096 bytes"},
		{subj.Records("p", "t"), good, `{"n":1}`, "fields: offset 5: '1' where a string value should be"},
		{subj.Records("p", "t"), good, `{"k":"v"} {}`, "fields: offset 10: '{' after the object"},
		{subj.Records("p", "t"), good, `{"k":"` + strings.Repeat("v", fleet.MaxRecordBytes) + `"}`, "at most 1048576"},
		{subj.Records("p", "t"), good, "{" + strings.Join(many, ",") + "}", "more than 4096 fields"},
	} {
		if _, _, _, err := fleet.DecodeRecord(msg(tc.subject, tc.hdr, tc.body)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeRecord(%s, %.30q): %v, want %q", tc.subject, tc.body, err, tc.want)
		}
	}
}
