// Command anchor is the floor for spawn → registered: a minimal Go program
// that connects to the socket in PLUGVISOR_SOCKET, writes one byte and waits
// for one byte back.
package main

import (
	"net"
	"os"
)

func main() {
	c, err := net.Dial("unix", os.Getenv("PLUGVISOR_SOCKET"))
	if err != nil {
		os.Exit(1)
	}
	c.Write([]byte{1})
	c.Read(make([]byte, 1))
}
