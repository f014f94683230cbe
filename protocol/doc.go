// Package protocol is plugvisor's wire: length-prefixed msgpack frames, the messages a plugin and the supervisor exchange, version negotiation, and the Conn both sides use.
//
// The byte-level specification, written so a plugin can be implemented in any
// language without reading this code, is PROTOCOL.md in this directory.
package protocol
