package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/plugvisor/plugvisor/internal/clip"
	"github.com/plugvisor/plugvisor/internal/ratelimit"
)

// Bounds of the HTTP server: a scraper sends a short GET, so anything slow
// or large is someone else.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 8 << 10
	shutdownGrace     = 5 * time.Second
	maxErrorText      = 1 << 10 // of a logged HTTP error, which may quote a peer
)

// Listen listens on addr, a host:port the configuration has checked; port 0
// picks a free one, Addr says which.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listening on %s: %w", addr, err)
	}
	return ln, nil
}

// Serve serves GET /metrics on ln until ctx ends, then shuts the server
// down, giving scrapes under way a moment to finish. It closes ln. Any
// other path is 404 but /, which points to /metrics, and any other method
// 405.
func Serve(ctx context.Context, ln net.Listener, e *Exporter) error {
	srv := &http.Server{
		Handler:           newMux(e),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(newErrorLog(e.log), "", 0),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("metrics: serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: serving on %s: %w", ln.Addr(), err)
	}
	return nil
}

func newMux(e *Exporter) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", e.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "plugvisor: Prometheus metrics at /metrics\n")
	})
	return mux
}

// errorLog turns what net/http and promhttp report into warnings of the
// supervisor's log, at most a few a minute: a peer that sends garbage in a
// loop must not flood it.
type errorLog struct {
	log   *slog.Logger
	limit *ratelimit.Limiter
}

func newErrorLog(l *slog.Logger) *errorLog {
	return &errorLog{log: l, limit: ratelimit.New(5, time.Minute)}
}

// Write takes the lines of net/http's log.Logger.
func (l *errorLog) Write(p []byte) (int, error) {
	l.say(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// Println is promhttp's Logger.
func (l *errorLog) Println(v ...any) { l.say(strings.TrimSuffix(fmt.Sprintln(v...), "\n")) }

func (l *errorLog) say(msg string) {
	if ok, held := l.limit.Allow(time.Now()); ok {
		l.log.Warn("metrics: http", "err", clip.Text(msg, maxErrorText), "not_logged", held)
	}
}
