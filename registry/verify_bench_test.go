package registry

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A start that finds the file unchanged must stay far below the 5 ms
// spawn → registered budget; hashing a 15 MB binary would not.
func BenchmarkVerify(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big")
	data := make([]byte, 15<<20)
	rand.Read(data)
	if err := os.WriteFile(path, data, 0o755); err != nil {
		b.Fatal(err)
	}
	sum := sha256Hex(string(data))
	b.Run("cached", func(b *testing.B) {
		v := NewVerifier()
		defer v.Close()
		v.racy = 0
		time.Sleep(time.Millisecond)
		warm, err := v.Verify(path, sum)
		if err != nil {
			b.Fatal(err)
		}
		warm.File.Close()
		for b.Loop() {
			exe, err := v.Verify(path, sum)
			if err != nil {
				b.Fatal(err)
			}
			exe.File.Close()
		}
		if v.hashes != 1 {
			b.Fatalf("hashed %d times", v.hashes)
		}
	})
	b.Run("hash-15MB", func(b *testing.B) {
		for b.Loop() {
			v := NewVerifier()
			exe, err := v.Verify(path, sum)
			if err != nil {
				b.Fatal(err)
			}
			exe.File.Close()
			v.Close()
		}
	})
}

// A first start of a signed plugin: sha256 alone, next to sha256 with the
// signature's BLAKE2b-512 computed in the same pass and its Ed25519
// checks, each on a fresh Verifier (nothing cached), alternated.
func BenchmarkVerifySignedCold(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "p")
	data := make([]byte, 15<<20)
	rand.Read(data)
	if err := os.WriteFile(path, data, 0o755); err != nil {
		b.Fatal(err)
	}
	key := newTestKey(b)
	cfg, err := Parse(filepath.Join(dir, "c.toml"), []byte(`[trust]
[trust.keys.release]
public_key = "`+key.pub.String()+`"
plugins = ["p"]
[plugins.p]
exec = "p"
require_signature = true
`))
	if err != nil {
		b.Fatal(err)
	}
	p := cfg.Plugin("p")
	key.sign(b, path, p.Signature, Comment("p", "1", time.Now()))
	sum := sha256Hex(string(data))
	var plain, signed []time.Duration
	for b.Loop() {
		for i := range 2 {
			v := NewVerifier()
			t0 := time.Now()
			var exe *Executable
			if i == 0 {
				exe, err = v.Verify(path, sum)
			} else {
				exe, err = v.VerifyPlugin(p, cfg.Trust)
			}
			d := time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
			exe.File.Close()
			v.Close()
			if i == 0 {
				plain = append(plain, d)
			} else {
				signed = append(signed, d)
			}
		}
	}
	slices.Sort(plain)
	slices.Sort(signed)
	a, s := plain[len(plain)/2], signed[len(signed)/2]
	b.ReportMetric(float64(a.Microseconds()), "sha256_p50_µs")
	b.ReportMetric(float64(s.Microseconds()), "signed_p50_µs")
	b.ReportMetric(float64(s)/float64(a), "signed_x_sha256")
}
