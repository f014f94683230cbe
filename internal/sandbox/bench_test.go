package sandbox_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/plugvisor/plugvisor/internal/sandbox"
)

// BenchmarkRestrictThread is the cost the supervisor adds to a plugin start:
// a fresh locked thread, a typical ruleset built and applied (Base, the
// plugin's directory read-write, its script read-only, two ports), and the
// thread's end. The fork and exec of the plugin are not included.
// "thread only" is the same without the ruleset, to tell the two costs
// apart.
func BenchmarkRestrictThread(b *testing.B) {
	dir := b.TempDir()
	script := filepath.Join(dir, "plugin.py")
	if err := os.WriteFile(script, []byte("print()\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	spec := sandbox.Base()
	spec.ReadWrite = append(spec.ReadWrite, dir)
	spec.ReadOnly = append(spec.ReadOnly, script)
	spec.TCPConnect = []uint16{443}
	spec.TCPBind = []uint16{0}
	b.Run("restrict", func(b *testing.B) {
		for b.Loop() {
			var err error
			sandbox.OnThread(func() { _, err = sandbox.RestrictThread(spec) })
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("thread only", func(b *testing.B) {
		for b.Loop() {
			sandbox.OnThread(func() {})
		}
	})
}
