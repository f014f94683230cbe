// Package control serves the operator API on a Unix socket and is the client that speaks it; its wire specification is the CONTROL section of protocol/PROTOCOL.md.
package control
