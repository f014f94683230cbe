package supervisor_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/plugvisor/plugvisor/internal/percentile"
	"github.com/plugvisor/plugvisor/supervisor"
	"github.com/plugvisor/plugvisor/supervisor/supervisortest"
)

// BenchmarkSpawnSigned measures start → registered of the Go echo plugin
// pinned by sha256 only, next to the same binary authorised by a minisign
// signature (no sha256), start by start in one run. The first start of
// each hashes the binary (and checks the signature); later ones must be
// served from the verifier's cache: hashed and sig_checks count what the
// signed supervisor did over every start, and must stay at 1.
func BenchmarkSpawnSigned(b *testing.B) {
	echo := supervisortest.Bin("echo")
	keys := supervisortest.ShortDir(b)
	key := newReleaseKey(b, keys, "release")
	sig := filepath.Join(keys, "echo.minisig")
	key.sign(b, echo, sig, "echo", "1.0.0")
	signed := fmt.Sprintf("[trust]\n[trust.keys.release]\npublic_key = %q\nplugins = [\"echo\"]\n[plugins.echo]\nexec = %q\nauto_start = false\nrequire_signature = true\nsignature = %q\n",
		key.pub.String(), echo, sig)
	ways := []struct {
		name string
		h    *harness
	}{
		{"sha256", startHarness(b, plugin(b, "echo", echo, "auto_start = false"))},
		{"signed", startHarness(b, signed)},
	}
	settle(b, echo)
	ds := make([][]time.Duration, len(ways))
	cycle := func(i int) time.Duration {
		t0 := time.Now()
		if err := ways[i].h.Sup.Start(context.Background(), "echo"); err != nil {
			b.Fatalf("%s: %v", ways[i].name, err)
		}
		d := time.Since(t0)
		if err := ways[i].h.Sup.Stop(context.Background(), "echo"); err != nil {
			b.Fatalf("%s: %v", ways[i].name, err)
		}
		return d
	}
	first := make([]time.Duration, len(ways))
	for i := range ways {
		first[i] = cycle(i) // hashes the binary, and checks the signature
	}
	for b.Loop() {
		for i := range ways {
			ds[i] = append(ds[i], cycle(i))
		}
	}
	base := percentile.Of(ds[0], 50)
	for i, w := range ways {
		p50 := percentile.Of(ds[i], 50)
		b.ReportMetric(float64(p50.Microseconds()), w.name+"_p50_µs")
		b.ReportMetric(float64(first[i].Microseconds()), w.name+"_first_µs")
		if i > 0 {
			b.ReportMetric(float64(p50)/float64(base), w.name+"_x_sha256")
		}
	}
	hashed, checked := supervisor.VerifierCounts(ways[1].h.Sup)
	if st := ways[1].h.Status("echo"); st.SignerKeyID != key.id() {
		b.Fatalf("signed echo ran without its signature: %+v", st)
	}
	b.ReportMetric(float64(hashed), "hashed")
	b.ReportMetric(float64(checked), "sig_checks")
	if hashed != 1 || checked != 1 {
		b.Fatalf("the signed supervisor hashed %d times and checked %d signatures over %d starts; want 1 and 1", hashed, checked, len(ds[1])+1)
	}
}
