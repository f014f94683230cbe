package supervisor

import (
	"errors"
	"fmt"
	"time"

	"github.com/plugvisor/plugvisor/registry"
)

// verify authorises p's executable: its sha256, its signature under the
// trust applied last (the keys' validity windows at the engine's clock,
// read now: a key that expired since the last start refuses this one),
// and no downgrade below the signed version recorded. The status then
// shows the digest computed while copying and who signed.
func (in *instance) verify(p *registry.Plugin) (*registry.Executable, error) {
	exe, err := in.env.verifier.VerifyPluginAt(p, in.env.trust.Load(), in.env.now())
	if err == nil {
		in.checkRecord(exe.Signature)
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
	in.mu.Unlock()
	in.setSigner(exe.Signature)
	return exe, nil
}

// setSigner shows who signed the executable last verified, nil for none.
func (in *instance) setSigner(s *registry.Signature) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.st.SignerKeyID, in.st.SignerKeyName, in.st.SignedComment, in.st.SignedAt = "", "", "", time.Time{}
	if s != nil {
		in.st.SignerKeyID, in.st.SignerKeyName, in.st.SignedComment, in.st.SignedAt = s.KeyID, s.KeyName, s.Comment, s.Time
	}
}

// checkRecord says, loudly, that the record of signed versions was
// changed behind the engine's back, before a signed start relies on it.
// The engine's memory decides either way; the record is written back
// from it so that it outlives a restart of plugvisor.
func (in *instance) checkRecord(s *registry.Signature) {
	if s == nil {
		return
	}
	if err := in.env.versions.Tampered(); err != nil {
		in.log.Error("record of signed versions tampered with: downgrades are still refused by what plugvisor remembers", "err", err)
	}
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

// running is what authorised the current process at its start. The
// status holds it: verify, which sets it, runs only while no process is.
func (in *instance) running() registry.Running {
	in.mu.Lock()
	defer in.mu.Unlock()
	r := registry.Running{SHA256: in.st.SHA256}
	if in.st.SignerKeyID != "" {
		r.Signature = &registry.Signature{KeyID: in.st.SignerKeyID, KeyName: in.st.SignerKeyName, Comment: in.st.SignedComment,
			Plugin: in.name, Version: in.st.SignedVersion(), Time: in.st.SignedAt}
	}
	return r
}

// SignedVersion is the version the signer's trusted comment names, ""
// when no signature authorised the instance, "?" when the comment does
// not parse (the engine verified it; a status from elsewhere may not).
func (s PluginStatus) SignedVersion() string {
	if s.SignerKeyID == "" {
		return ""
	}
	_, version, _, err := registry.ParseComment(s.SignedComment)
	if err != nil {
		return "?"
	}
	return version
}

// reauthorise asks, after a reload, whether the current process may keep
// running under the trust now applied (registry.StillAuthorised). One
// that may not (its key or digest revoked, its key no longer trusted to
// sign it, no signature where one is now required) is stopped and left
// failed, not restarted, with the reason saying what changed and where;
// one that may is left alone, same process.
func (in *instance) reauthorise(p *registry.Plugin, reason string) {
	if in.proc == nil {
		return // not running: its next start verifies under the new trust
	}
	err := registry.StillAuthorised(p, in.env.trust.Load(), in.running())
	if errors.Is(err, registry.ErrUnsigned) {
		err = in.adoptSignature(p)
	}
	if err == nil {
		return
	}
	why := fmt.Sprintf("%s: no longer authorised: %v", reason, err)
	// Left failed: terminate reaps the process here, so no exit follows
	// to restart it or to launch a start that waited for it; that start's
	// callers hear this failure.
	in.undefer()
	in.stopTimer()
	in.terminate(why)
	in.setState(StateFailed, why)
}

// adoptSignature keeps a process started while p required no signature,
// now that it does, if the executable on disk has the running process's
// sha256 and a signature that authorises it now (the bytes verified are
// then the bytes running), and it is no downgrade.
func (in *instance) adoptSignature(p *registry.Plugin) error {
	sum := in.running().SHA256
	exe, err := in.verifyBounded(p)
	if err != nil {
		return fmt.Errorf("plugin %s now requires a signature, and its running process (sha256 %s) was started without one: %w", p.Name, sum, err)
	}
	defer exe.File.Close()
	if exe.SHA256 != sum {
		return fmt.Errorf("%s: %w: plugin %s now requires a signature, and its running process (sha256 %s) was started without one; the executable signed on disk is another (sha256 %s)",
			p.Exec, registry.ErrUnsigned, p.Name, sum, exe.SHA256)
	}
	in.checkRecord(exe.Signature)
	if err := in.env.versions.Admit(p, exe.Signature); err != nil {
		return err
	}
	in.setSigner(exe.Signature)
	in.recordVersion(p, exe.Signature)
	return nil
}

// verifyBounded verifies the executable on disk within maxStarting, as a
// start does: a reload that newly requires signatures asks every running
// instance at once, and each verification is a copy and a hash, blocking
// system calls that would each take an OS thread.
func (in *instance) verifyBounded(p *registry.Plugin) (*registry.Executable, error) {
	if sem := in.env.launcher.starting; sem != nil {
		sem <- struct{}{}
		defer func() { <-sem }()
	}
	return in.env.verifier.VerifyPluginAt(p, in.env.trust.Load(), in.env.now())
}
