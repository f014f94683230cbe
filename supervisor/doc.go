// Package supervisor is plugvisor's engine: it starts verified plugin processes, authenticates their connections, streams their records, routes tasks, watches heartbeats, restarts what crashes, and lets nothing it started outlive it.
//
// Everything an operator can see or do goes through the API interface, which
// the console, the headless mode and the control socket all use.
package supervisor
