package registry

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
)

// Check verifies every configured executable against its sha256, as a start
// would, without starting anything. It writes one line per plugin to w and
// returns an error naming every plugin that would be refused.
func Check(cfg *Config, w io.Writer) error {
	v := NewVerifier()
	defer v.Close()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var errs []error
	for _, p := range cfg.Plugins {
		exe, err := v.Verify(p.Exec, p.SHA256)
		if err != nil {
			fmt.Fprintf(tw, "FAIL\t%s\t%s\t%v\n", p.Name, p.Exec, err)
			errs = append(errs, fmt.Errorf("%s: plugins.%s: %w", p.Where, p.Name, err))
			continue
		}
		exe.File.Close()
		fmt.Fprintf(tw, "ok\t%s\t%s\tsha256 %s\n", p.Name, p.Exec, exe.SHA256)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d plugins checked in %v, %d refused\n", len(cfg.Plugins), cfg.Files, len(errs))
	return errors.Join(errs...)
}
