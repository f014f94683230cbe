package fleet

import "github.com/plugvisor/plugvisor/internal/hostsel"

// Selector picks hosts of a fleet by name and labels (host=edge-1,
// host=edge-*, env=prod,role=edge, env!=prod, * for every host): the one
// syntax of internal/hostsel, which the console's table filter reads too.
type Selector = hostsel.Selector

// MaxSelector bounds a selector's text.
const MaxSelector = hostsel.Max

// ParseSelector reads a selector; an error names the term that is wrong.
func ParseSelector(s string) (Selector, error) { return hostsel.Parse(s) }
