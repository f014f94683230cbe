package tui

import (
	"github.com/plugvisor/plugvisor/tui/components/detail"
	"github.com/plugvisor/plugvisor/tui/render"
)

// signatureRows is the height of the describe view's signature box: its
// border and three lines.
const signatureRows = 5

// describeWithSignature draws the describe view h lines high and, when the
// instance's run was authorised by a signature and there is room, a box
// under it saying who signed, what, and how long ago.
func (m *Model) describeWithSignature(w, h int) string {
	p := m.store.Plugin(m.describe.ID)
	if p == nil || p.Status.SignerKeyID == "" || h < 2*signatureRows {
		return m.describe.Render(m.c, m.store, w, h)
	}
	st, ps := m.c.Styles, p.Status
	line := func(label, value string) string {
		return st.Faint.Render(render.Fit(label, 12)) + st.Text.Render(render.Sanitize(value))
	}
	lines := []string{
		line("signer", detail.Signer(ps)),
		line("comment", ps.SignedComment),
		line("signed", detail.SignedAge(m.c.Now().Sub(ps.SignedAt))+" ("+render.Stamp(ps.SignedAt)+")"),
	}
	return m.describe.Render(m.c, m.store, w, h-signatureRows) + "\n" +
		render.Frame(st.Border, st.Title.Render("Signature"), lines, w, signatureRows)
}
