package supervisor

import (
	"fmt"
	"time"

	"github.com/plugvisor/plugvisor/registry"
)

// verify authorises p's executable: its sha256, its signature under the
// trust applied last, and no downgrade below the signed version recorded.
// The status then shows the digest computed while copying and who signed.
func (in *instance) verify(p *registry.Plugin) (*registry.Executable, error) {
	exe, err := in.env.verifier.VerifyPlugin(p, in.env.trust.Load())
	if err == nil {
		err = in.env.versions.Admit(p, exe.Signature)
		if err != nil {
			exe.File.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	in.mu.Lock()
	in.st.SHA256 = exe.SHA256
	in.st.SignerKeyID, in.st.SignerKeyName, in.st.SignedComment, in.st.SignedAt = "", "", "", time.Time{}
	if s := exe.Signature; s != nil {
		in.st.SignerKeyID, in.st.SignerKeyName, in.st.SignedComment, in.st.SignedAt = s.KeyID, s.KeyName, s.Comment, s.Time
	}
	in.mu.Unlock()
	return exe, nil
}

// recordVersion notes the signed version of a process that started.
func (in *instance) recordVersion(p *registry.Plugin, s *registry.Signature) {
	if s == nil {
		return
	}
	if err := in.env.versions.Record(p.Name, s.Version); err != nil {
		in.log.Warn("signed version not recorded: a downgrade below it would not be refused", "version", s.Version, "err", err)
	}
}
