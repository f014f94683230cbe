package protocol

import (
	"fmt"
	"slices"
	"strings"
)

// Version is the newest protocol version this package speaks.
const Version uint16 = 1

// Versions returns the protocol versions this package speaks, newest first.
// A function, not a variable, so no caller can change what is advertised.
func Versions() []uint16 { return []uint16{Version} }

// VersionError says that two peers share no protocol version, and what each
// speaks, so the operator knows which side to upgrade.
type VersionError struct {
	Plugin     []uint16
	Supervisor []uint16
}

func (e *VersionError) Error() string {
	hint := "upgrade the plugin's SDK"
	if len(e.Plugin) > 0 && len(e.Supervisor) > 0 && slices.Max(e.Plugin) > slices.Max(e.Supervisor) {
		hint = "upgrade plugvisor"
	}
	return fmt.Sprintf("no common protocol version: the plugin speaks %s, the supervisor speaks %s (%s)",
		versionList(e.Plugin), versionList(e.Supervisor), hint)
}

func versionList(vs []uint16) string {
	if len(vs) == 0 {
		return "none"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("v%d", v)
	}
	return strings.Join(parts, ", ")
}

// Negotiate picks the highest version both sides speak.
func Negotiate(supervisor, plugin []uint16) (uint16, error) {
	best, ok := uint16(0), false
	for _, v := range plugin {
		if slices.Contains(supervisor, v) && (!ok || v > best) {
			best, ok = v, true
		}
	}
	if !ok {
		return 0, &VersionError{Plugin: plugin, Supervisor: supervisor}
	}
	return best, nil
}
