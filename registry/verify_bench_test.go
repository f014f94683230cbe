package registry

import (
	"crypto/rand"
	"os"
	"path/filepath"
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
