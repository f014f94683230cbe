package detail

import "github.com/plugvisor/plugvisor/tui/render"

// maxFieldName is how many bytes of a field's name are drawn: a plugin
// chooses names, up to the protocol's limit, and a name is a label.
const maxFieldName = 64

// fieldName is a field's name as it is drawn: cut, and blanked of what
// would drive the terminal (a name is the plugin's text like a value).
func fieldName(k string) string { return render.Sanitize(render.Head(k, maxFieldName)) }
