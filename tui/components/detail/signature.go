package detail

import (
	"time"

	"github.com/plugvisor/plugvisor/supervisor"
	pvctx "github.com/plugvisor/plugvisor/tui/context"
	"github.com/plugvisor/plugvisor/tui/render"
)

// Signer names the key that signed the instance's executable, "" when no
// signature authorised it.
func Signer(s supervisor.PluginStatus) string {
	if s.SignerKeyID == "" {
		return ""
	}
	return "key " + s.SignerKeyID + " (trust.keys." + s.SignerKeyName + ")"
}

// Signed says which version was signed and how long ago, from the
// verified trusted comment; "" when unsigned.
func Signed(c *pvctx.Context, s supervisor.PluginStatus) string {
	if s.SignerKeyID == "" {
		return ""
	}
	return "version " + s.SignedVersion() + " · " + SignedAge(c.Now().Sub(s.SignedAt)) + " (" + render.Stamp(s.SignedAt) + ")"
}

// SignedAge says how old a signature is. Its time is the signer's word and
// its clock: one ahead of this host's is said, not shown as "<1s ago".
func SignedAge(d time.Duration) string {
	if d < 0 {
		return render.Age(-d) + " in the future (the signer's clock is ahead of this host's)"
	}
	return render.Age(d) + " ago"
}
