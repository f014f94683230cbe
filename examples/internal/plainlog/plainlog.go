// Package plainlog is the example plugins' one stderr logger: slog text
// lines without a time, since the supervisor stamps every line it reads.
package plainlog

import (
	"io"
	"log/slog"
)

// New logs text lines to w, leaving the time out.
func New(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
}
