package sandbox

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Support is what this kernel's Landlock can enforce.
type Support struct {
	ABI        int    // 0 when Landlock is not available
	Filesystem bool   // path rules (ABI 1)
	TCP        bool   // TCP bind and connect port rules (ABI 4)
	Scope      bool   // signal and abstract unix socket scoping (ABI 6)
	Why        string // why not, when ABI is 0
}

// Probe asks the kernel which Landlock ABI it has. It restricts nothing.
func Probe() Support {
	abi, err := abiVersion()
	if err != nil {
		return Support{Why: unavailable(err)}
	}
	return Support{
		ABI:        abi,
		Filesystem: abi >= abiFilesystem,
		TCP:        abi >= abiTCP,
		Scope:      abi >= abiScope,
	}
}

func unavailable(err error) string {
	switch {
	case errors.Is(err, unix.ENOSYS):
		return "kernel built without Landlock (landlock_create_ruleset: ENOSYS)"
	case errors.Is(err, unix.EOPNOTSUPP):
		return "Landlock built in but not enabled at boot (add landlock to lsm=)"
	default:
		return fmt.Sprintf("landlock_create_ruleset: %v", err)
	}
}

// String is the one line `plugvisor check` prints.
func (s Support) String() string {
	if s.ABI < abiFilesystem {
		return "landlock unavailable: " + s.Why
	}
	have := []string{"filesystem"}
	var lack []string
	if s.TCP {
		have = append(have, "TCP bind/connect")
	} else {
		lack = append(lack, "no TCP rules (ABI 4)")
	}
	if s.Scope {
		have = append(have, "signal and abstract-socket scoping")
	} else {
		lack = append(lack, "no signal or abstract-socket scoping (ABI 6)")
	}
	line := fmt.Sprintf("landlock ABI %d: %s", s.ABI, strings.Join(have, ", "))
	if len(lack) > 0 {
		line += "; " + strings.Join(lack, ", ")
	}
	return line
}
