package supervisor_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/registry"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// A plugin of plugvisor's own uid, unsandboxed (the default), can rewrite
// the record of signed versions in the work dir: it is a real process
// here, a script that lowers the signed plugin's version in the record.
// While plugvisor runs that changes nothing: the downgrade is still
// refused, by what the engine remembers, the change is logged as an error
// naming the file and what was changed, and the record is written back.
func TestTamperedVersionRecord(t *testing.T) {
	bins := supervisortest.ShortDir(t)
	key := newReleaseKey(t, bins, "release")
	good := distinctEcho(t, bins, "good")
	key.sign(t, good, good+".minisig", "good", "2.0.0")
	tamper := filepath.Join(bins, "tamper")
	if err := os.WriteFile(tamper, []byte("#!/bin/sh\nprintf '{\"good\":\"0.1\"}' > \"$1\" || exit 1\nexec sleep 600\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	var record string
	conf := func() string {
		return fmt.Sprintf(`[trust]
require_signature = true
[trust.keys.release]
public_key = %q
plugins = ["good"]
[plugins.good]
exec = %q
restart = "never"
[plugins.tamper]
exec = %q
args = [%q]
sha256 = %q
require_signature = false
auto_start = false
restart = "never"
`, key.pub.String(), good, tamper, record, supervisortest.SHA256(t, tamper))
	}
	h := startHarness(t, "", func(o *supervisor.Options) {
		record = filepath.Join(o.Config.Agent.WorkDir, registry.VersionsFile)
		cfg, err := registry.Parse(filepath.Join(o.Config.Agent.WorkDir, "config.toml"), []byte(supervisortest.AgentTOML(o.Config.Agent.WorkDir, nil)+conf()))
		if err != nil {
			t.Fatal(err)
		}
		o.Config = cfg
	})
	h.WaitState("good", supervisor.StateRunning)
	written, err := os.ReadFile(record)
	if err != nil || !strings.Contains(string(written), `"good": "2.0.0"`) {
		t.Fatalf("record: %q %v", written, err)
	}
	go func() { _ = h.Sup.Start(context.Background(), "tamper") }()
	supervisortest.WaitUntil(t, "the plugin's rewrite of the record", 30*time.Second, func() bool {
		data, _ := os.ReadFile(record)
		return string(data) == `{"good":"0.1"}`
	})

	key.sign(t, good, good+".minisig", "good", "1.0.0")
	_ = h.Sup.Restart(context.Background(), "good")
	st := h.WaitState("good", supervisor.StateFailed)
	if !strings.Contains(st.Reason, "downgrade refused: signed version 1.0.0 is older than version 2.0.0, the highest this host has run") {
		t.Errorf("after the record was lowered: %q", st.Reason)
	}
	if data, _ := os.ReadFile(record); string(data) != string(written) {
		t.Errorf("the record was not written back: %q", data)
	}
	want := "version record tampered with: " + record + " was changed by something other than plugvisor (good 2.0.0 → 0.1); written back from memory"
	supervisortest.WaitUntil(t, "the error event", 30*time.Second, func() bool {
		evs, err := h.Sup.History(context.Background(), supervisor.HistoryQuery{Types: []supervisor.EventType{supervisor.EventSupervisorLog}})
		for _, ev := range evs {
			if l := ev.SupervisorLog; err == nil && l != nil && l.Level == "ERROR" && strings.Contains(l.Message, "record of signed versions tampered with") && strings.Contains(l.Attrs, want) {
				return true
			}
		}
		return false
	})
}
