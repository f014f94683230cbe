package main

import (
	"slices"
	"testing"

	"github.com/plugvisor/plugvisor/registry"
)

// TestDemoRestartPolicy: the demo's chaos crashes every five seconds for
// ever; its backoff is capped low enough that its crash cycle keeps
// showing restarts (not a minute of backoff), and it never runs out of
// restart burst at that pace.
func TestDemoRestartPolicy(t *testing.T) {
	cfg, _, cleanup, err := demoConfig()
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if !registry.IsDemo(cfg) {
		t.Fatal("the demo config is not recognised as the demo")
	}
	so := supervisorOptions(cfg, nil, nil, "")
	if so.BackoffMax != registry.DemoBackoffMax || so.HealthyAfter != registry.DemoHealthyAfter {
		t.Fatalf("demo backoff cap %v, reset after %v", so.BackoffMax, so.HealthyAfter)
	}
	// At the cap (+20% jitter) a crash cycle is 5 s of run and at most
	// 9.6 s of backoff: fewer restarts within the window than the burst.
	cycle := 5e9 + so.BackoffMax.Seconds()*1.2e9
	if perWindow := cfg.Agent.RestartWindow.Seconds() * 1e9 / cycle; int(perWindow)+1 >= cfg.Agent.RestartBurst {
		t.Fatalf("chaos would use up its restart burst: %.1f restarts per %v, burst %d", perWindow, cfg.Agent.RestartWindow, cfg.Agent.RestartBurst)
	}
	for _, p := range cfg.Plugins {
		if p.Name != "echo" && !slices.Contains(p.Args, "--log") {
			t.Errorf("demo plugin %s does not say what it does: args %v", p.Name, p.Args)
		}
	}
	// Any other configuration keeps the engine's defaults.
	if so := supervisorOptions(&registry.Config{}, nil, nil, ""); so.BackoffMax != 0 {
		t.Errorf("a non-demo config got backoff cap %v", so.BackoffMax)
	}
}
