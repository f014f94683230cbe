package registry

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Check verifies every configured executable as a start would (its sha256,
// its signature and the version record in the work dir), without starting
// anything or recording a version. It writes one line per plugin to w,
// naming the key that signed each signed plugin, and returns an error
// naming every plugin that would be refused.
func Check(cfg *Config, w io.Writer) error {
	v := NewVerifier()
	defer v.Close()
	versions, _ := OpenVersions(cfg.Agent.WorkDir) // broken: Admit says so
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var errs []error
	for _, p := range cfg.Plugins {
		exe, err := v.VerifyPlugin(p, cfg.Trust)
		if err == nil {
			err = versions.Admit(p, exe.Signature)
		}
		if err != nil {
			if exe != nil {
				exe.File.Close()
			}
			fmt.Fprintf(tw, "FAIL\t%s\t%s\t%v\n", p.Name, p.Exec, err)
			errs = append(errs, fmt.Errorf("%s: plugins.%s: %w", p.Where, p.Name, err))
			continue
		}
		exe.File.Close()
		fmt.Fprintf(tw, "ok\t%s\t%s\tsha256 %s%s\n", p.Name, p.Exec, exe.SHA256, signedBy(exe.Signature))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d plugins checked in %v, %d refused\n", len(cfg.Plugins), cfg.Files, len(errs))
	return errors.Join(errs...)
}

// signedBy describes a verified signature for Check's line.
func signedBy(s *Signature) string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("\tsigned by key %s (trust.keys.%s), version %s, %s", s.KeyID, s.KeyName, s.Version, s.Time.UTC().Format(time.RFC3339))
}
