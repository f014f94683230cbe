package fleet

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// A flood of the server's errors (an out-of-scope operator's discovery in
// a loop, each answer refused) costs the host's log a few lines a minute.
func TestServerErrorsAreLoggedAFewAMinute(t *testing.T) {
	var buf bytes.Buffer
	handle := serverErrorLog(slog.New(slog.NewTextHandler(&buf, nil)))
	refused := errors.New(`nats: permissions violation: Permissions Violation for Publish to "_INBOX_OP.alice.x"`)
	for range 1000 {
		handle(nil, nil, refused)
	}
	lines := strings.Count(buf.String(), "fleet: server error")
	if lines == 0 || lines > 5 {
		t.Fatalf("%d lines logged for 1000 errors, want 1 to 5:\n%s", lines, buf.String())
	}
}
