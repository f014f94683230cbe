package detail

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/plugvisor/plugvisor/internal/testutil"
	"github.com/plugvisor/plugvisor/protocol"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/themes"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/state"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// goldenAt is the fixed clock of the golden panes.
var goldenAt = time.Date(2026, 3, 4, 10, 20, 30, 0, time.UTC)

// goldenStore is one instance, echo, with what each tab shows: records of
// two types, round trips answered, failed and pending, an exit history
// with a long reason, containment and the host's lines.
func goldenStore() *state.Store {
	s := state.New()
	started := goldenAt.Add(-90 * time.Second)
	s.SetSnapshot([]supervisor.PluginStatus{{
		Name: "echo", Instance: "echo", Version: "1.0.0", PluginVersion: "1.0.0", State: supervisor.StateRunning,
		Reason: "registered (pid 4242, protocol v1)", Since: started.Add(5 * time.Millisecond), PID: 4242, PGID: 4242,
		Started: started, Restarts: 2, Exec: "/opt/plugvisor/plugins/echo/bin/echo", Args: []string{"--greeting", "hello there"},
		SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", WorkDir: "/var/lib/plugvisor/echo",
		StdoutLog: "/var/log/plugvisor/echo/echo.stdout.log", StderrLog: "/var/log/plugvisor/echo/echo.stderr.log", Protocol: 1,
		RTTp50: 180 * time.Microsecond, RTTp99: 2100 * time.Microsecond,
		Exits: []supervisor.Exit{
			{Time: started.Add(-time.Hour), Code: 1, Reason: "exited 1: config.toml:3: plugins.echo.sha256: missing; /opt/plugvisor/plugins/echo/bin/echo currently has sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 (check it is the build you trust before pasting it)"},
			{Time: started.Add(-time.Minute), Code: 2, Reason: "exited 2"},
		},
		Cgroup: "/sys/fs/cgroup/plugvisor/echo", Limits: "memory_max 64MiB, pids_max 32",
		Counters: supervisor.Counters{RecordsIn: 12, FramesIn: 40, FramesOut: 38, BytesIn: 4096, BytesOut: 2048,
			TasksSent: 3, TasksAnswered: 1, TasksFailed: 1},
	}}, supervisor.Info{Containment: []string{"kill: cgroup.kill (every process of the group, setsid or not)"}, WatchdogPID: 99})
	var recs []protocol.Record
	for i := range 12 {
		typ := "greeting"
		if i%3 == 2 {
			typ = "stats"
		}
		recs = append(recs, protocol.Record{Timestamp: goldenAt.Add(time.Duration(i-12) * time.Second).UnixNano(),
			Fields: map[string]string{protocol.FieldDataType: typ, "seq": fmt.Sprint(i + 1), "text": strings.Repeat("hi ", i%4+1)}})
	}
	s.Apply([]supervisor.Event{{Type: supervisor.EventRecords, Plugin: "echo", Instance: "echo", Time: goldenAt, Records: recs}})
	sent := goldenAt.Add(-20 * time.Second)
	for i, tc := range []struct {
		content string
		reply   supervisor.Reply
		err     error
	}{
		{"hello", supervisor.Reply{Instance: "echo", ID: 1, Outcome: supervisor.OutcomeAnswered, RTT: 180 * time.Microsecond,
			Records: []protocol.Record{{Fields: map[string]string{"data_type": "reply", "content": "hello", "task_status": "ok"}}}}, nil},
		{"boom", supervisor.Reply{Instance: "echo", ID: 2, Outcome: supervisor.OutcomeError, RTT: 2100 * time.Microsecond, Error: "no such action"}, nil},
		{"slow", supervisor.Reply{}, nil},
	} {
		tok := fmt.Sprintf("c0a1b2c3d-%d", i+1)
		s.AddPending("echo", tok, uint32(i+1), tc.content, sent.Add(time.Duration(i)*5*time.Second))
		if tc.reply.Outcome != "" {
			tc.reply.Token = tok
			s.Resolve("echo", tc.reply, tc.err)
		}
	}
	return s
}

// TestDetailGolden draws the Data (list and table), Tasks and Info tabs
// alone from a store, at 80 and 160 columns, and compares them with
// testdata/*.golden (go test -update rewrites them).
func TestDetailGolden(t *testing.T) {
	s := goldenStore()
	goldenTabs(t, s, []string{"data", "data-table", "tasks", "info"}, func(m *Model, tab string) {
		switch tab {
		case "data":
			m.SetTab(TabData)
		case "data-table":
			m.SetTab(TabData)
			m.Scroll(s, 1) // an older record, a greeting
			m.ToggleTable(s)
		case "tasks":
			m.SetTab(TabTasks)
		case "info":
			m.SetTab(TabInfo)
		}
	})
}

// goldenTabs draws echo's detail pane from s at 80x16 and 160x30 for each
// of tabs, set up by open, checks every line is as wide as the pane, and
// compares it with testdata/TAB-WxH.golden.
func goldenTabs(t *testing.T, s *state.Store, tabs []string, open func(m *Model, tab string)) {
	t.Helper()
	c := pvctx.New(themes.Default(), func() time.Time { return goldenAt })
	for _, size := range [][2]int{{80, 16}, {160, 30}} {
		for _, tab := range tabs {
			name := fmt.Sprintf("%s-%dx%d", tab, size[0], size[1])
			t.Run(name, func(t *testing.T) {
				m := New()
				m.Show("echo")
				open(&m, tab)
				got := ansi.Strip(m.View(c, s, size[0], size[1], true))
				for i, l := range strings.Split(got, "\n") {
					if w := ansi.StringWidth(l); w != size[0] {
						t.Errorf("line %d is %d cells wide", i+1, w)
					}
				}
				testutil.Golden(t, "testdata", name, got)
			})
		}
	}
}
