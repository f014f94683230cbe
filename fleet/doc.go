// Package fleet links one plugvisor engine to a NATS fleet: its records
// into a JetStream stream, its events on core subjects, and the operator
// API served as a NATS micro service; Client is the same API for one remote
// host, as control.Client is for the Unix socket. Subject names live in
// Subjects, so every side (link, client, permissions) agrees on them.
package fleet
