// Command reach tries one thing a sandboxed plugin might, for the sandbox
// tests: it prints "ok" and exits 0 when it could, prints "denied: …" and
// exits 3 when the kernel said EACCES or EPERM, and exits 2 on anything else.
//
//	reach connect HOST:PORT   TCP connect
//	reach bind HOST:PORT      TCP bind
//	reach signal PID          kill(PID, 0)
//	reach abstract NAME       connect to the abstract unix socket @NAME
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: reach connect|bind|signal|abstract TARGET")
		os.Exit(2)
	}
	err := try(os.Args[1], os.Args[2])
	switch {
	case err == nil:
		fmt.Println("ok")
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		fmt.Println("denied:", err)
		os.Exit(3)
	default:
		fmt.Println("error:", err)
		os.Exit(2)
	}
}

func try(what, target string) error {
	switch what {
	case "connect":
		return closeAfter(net.Dial("tcp", target))
	case "bind":
		return closeAfter(net.Listen("tcp", target))
	case "signal":
		pid, err := strconv.Atoi(target)
		if err != nil {
			return err
		}
		return syscall.Kill(pid, 0)
	case "abstract":
		return closeAfter(net.Dial("unix", "@"+target))
	}
	return fmt.Errorf("unknown action %q", what)
}

type closer interface{ Close() error }

func closeAfter[C closer](c C, err error) error {
	if err != nil {
		return err
	}
	return c.Close()
}
