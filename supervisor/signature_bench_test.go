package supervisor_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

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
	ways := []way{
		{"sha256", startHarness(b, plugin(b, "echo", echo, "auto_start = false"))},
		{"signed", startHarness(b, signed)},
	}
	settle(b, echo)
	first := make([]time.Duration, len(ways))
	for i, w := range ways {
		first[i] = w.startStop(b, "echo") // hashes the binary, and checks the signature
	}
	ds := interleave(b, ways, "echo")
	reportStarts(b, ways, ds, "sha256")
	for i, w := range ways { // after the loop, whose start resets metrics
		b.ReportMetric(float64(first[i].Microseconds()), w.name+"_first_µs")
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
