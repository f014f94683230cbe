package sdk

import "os"

// commMax is the kernel's limit on a process name (TASK_COMM_LEN less NUL).
const commMax = 15

// nameProcess sets the name ps and top show for this process. The supervisor
// runs a plugin from a sealed in-memory copy of its executable, executed as
// /proc/self/fd/3, so the kernel names the process "3"; the plugin's name
// says more. /proc/self/comm is the main thread's, which is the process's.
func nameProcess(name string) {
	if len(name) > commMax {
		name = name[:commMax]
	}
	_ = os.WriteFile("/proc/self/comm", []byte(name), 0)
}
