// Package fleet links one plugvisor engine to a NATS fleet: its records
// into a JetStream stream, its events on core subjects, and the operator
// API served as a NATS micro service; Client is the same API for one remote
// host, as control.Client is for the Unix socket. Subject names live in
// Subjects, so every side (link, client, permissions) agrees on them.
//
// A Fleet finds hosts in rounds: it calls on Discover, which each host
// answers with its presence on its own Presence subject (which the
// generated permissions let only that host publish), and asks
// `$SRV.PING.plugvisor`, which any host may answer in any name. So a round
// takes the names of presences first and few from pings alone, and every
// host new to the fleet confirms itself on its own API subject before it
// joins.
package fleet
