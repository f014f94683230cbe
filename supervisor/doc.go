// Package supervisor is plugvisor's engine: it starts verified plugin processes, authenticates their connections, streams their records, routes tasks, watches heartbeats, restarts what crashes, and lets nothing it started outlive it.
//
// Everything an operator can see or do goes through the API interface, which
// the console, the headless mode and the control socket all use. What
// happened is kept, within byte budgets, for those who were not watching:
// History returns recent state changes, task outcomes, records and the
// supervisor's own log, which is also published on the event bus.
package supervisor
