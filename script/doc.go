// Package script parses and runs plugvisor scripts: steps that wait for plugins, inject tasks and check their replies through the operator API.
package script
