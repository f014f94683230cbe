package control_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/plugvisor/plugvisor/control"
)

// roleEnv makes the test binary a child with a job instead of a test run.
const roleEnv = "PV_CONTROL_TEST_ROLE"

// Exit codes of the "dial" role, which tries to connect to the control
// socket in $PV_SOCKET as whatever user it was started as.
const (
	dialConnected    = 10 // it got in: the test fails
	dialRefusedByFS  = 11 // connect(2) itself failed: the socket's modes kept it out
	dialRefusedByUID = 12 // it connected, and the server refused its uid
	dialOther        = 13
)

func runRole(role string) int {
	switch role {
	case "dial":
		return dialRole()
	case "echo":
		return echoRole()
	}
	fmt.Fprintln(os.Stderr, "unknown role", role)
	return 2
}

func dialRole() int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := control.Dial(ctx, os.Getenv("PV_SOCKET"))
	fmt.Printf("uid %d: %v\n", os.Getuid(), err)
	switch {
	case err == nil:
		c.Close()
		return dialConnected
	case errors.Is(err, control.ErrPermission):
		return dialRefusedByUID
	case errors.Is(err, os.ErrPermission):
		return dialRefusedByFS
	}
	return dialOther
}
