package registry

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// TrustedPath is where the NAME of a script's "#!/usr/bin/env NAME" is
// looked up, in this order: system directories only, never the plugin's
// or the supervisor's $PATH, which whoever starts plugvisor or writes a
// plugin's env could point at a program of their own. What is found there
// must still pass the interpreter trust check.
const TrustedPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// shebangMax is how much of a script's first line the kernel reads
// (BINPRM_BUF_SIZE).
const shebangMax = 256

var (
	errNoInterpreter   = errors.New("the #! line names no interpreter")
	errShebangTooLong  = fmt.Errorf("the #! line is longer than the %d bytes Linux reads, which cuts the interpreter's name short", shebangMax)
	errEnvRefusedChars = errors.New("env -S would read quotes, backslashes, $ and # specially, and plugvisor splits on whitespace only")
)

// parseShebang splits a "#!" line as Linux's binfmt_script does: the
// interpreter is the first word after "#!" and blanks, ended by a space,
// tab or NUL; the rest of the line, trailing blanks cut, is at most one
// argument, spaces and all. ok is false for a file without "#!".
func parseShebang(head []byte) (interp string, arg []string, ok bool, err error) {
	if !bytes.HasPrefix(head, []byte("#!")) {
		return "", nil, false, nil
	}
	// The kernel's buffer is zeroed past the end of a short file, and its
	// last byte becomes the NUL that ends a line longer than the buffer.
	var buf [shebangMax]byte
	copy(buf[:], head)
	last := len(buf) - 1
	end := bytes.IndexByte(buf[:], '\n')
	if end < 0 {
		name := nextNonBlank(buf[:], 2, last)
		if name < 0 {
			return "", nil, true, errNoInterpreter
		}
		if nextTerminator(buf[:], name, last) < 0 {
			return "", nil, true, errShebangTooLong
		}
		end = last
	}
	for isBlank(buf[end-1]) {
		end--
	}
	name := nextNonBlank(buf[:], 2, end)
	if name < 0 || name == end {
		return "", nil, true, errNoInterpreter
	}
	sep := nextTerminator(buf[:], name, end)
	a := -1
	if sep >= 0 && buf[sep] != 0 {
		a = nextNonBlank(buf[:], sep, end)
	}
	if a < 0 {
		return cString(buf[name:end]), nil, true, nil
	}
	return cString(buf[name:sep]), []string{cString(buf[a:end])}, true, nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// nextNonBlank and nextTerminator search b[first:last+1], inclusive of
// last as the kernel's helpers are; -1 means not found.
func nextNonBlank(b []byte, first, last int) int {
	for ; first <= last; first++ {
		if !isBlank(b[first]) {
			return first
		}
	}
	return -1
}

func nextTerminator(b []byte, first, last int) int {
	for ; first <= last; first++ {
		if isBlank(b[first]) || b[first] == 0 {
			return first
		}
	}
	return -1
}

// cString is b up to its first NUL, as the kernel passes it on.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// envCommand turns the argument of "#!/usr/bin/env ..." into the program
// env would run, looked up in TrustedPath, so that env itself need not run.
// Only "env NAME" and "env -S NAME ARGS..." are understood: env's other
// options and its variable assignments change what runs in ways plugvisor
// would have to reimplement to check.
func envCommand(arg []string) (interpreter, error) {
	if len(arg) == 0 {
		return interpreter{}, errors.New("#! names env but no program for it to run")
	}
	words := arg[:1]
	switch split, ok := strings.CutPrefix(arg[0], "-S"); {
	case ok:
		if strings.ContainsAny(split, `'"\$#`) {
			return interpreter{}, fmt.Errorf("%w: write %q without them", errEnvRefusedChars, split)
		}
		if words = strings.Fields(split); len(words) == 0 {
			return interpreter{}, errors.New("#! names env -S but no program for it to run")
		}
	case strings.HasPrefix(arg[0], "-"):
		words = strings.Fields(arg[0])[:1] // reported below
	case strings.ContainsAny(arg[0], " \t"):
		return interpreter{}, fmt.Errorf("Linux passes %q to env as one word, which names no program; write \"#!/usr/bin/env -S %s\" to pass arguments", arg[0], arg[0])
	}
	name := words[0]
	switch {
	case strings.HasPrefix(name, "-"):
		return interpreter{}, fmt.Errorf("env option %q is not supported: plugvisor runs the interpreter itself and understands only \"env NAME\" and \"env -S NAME ARGS...\"", name)
	case strings.Contains(name, "="):
		return interpreter{}, fmt.Errorf("env would read %q as a variable to set, which plugvisor does not do for an interpreter; set it in the plugin's env table", name)
	}
	path, err := lookTrusted(name)
	if err != nil {
		return interpreter{}, err
	}
	run := interpreter{path: path}
	if len(words) > 1 {
		run.args = slices.Clone(words[1:])
	}
	return run, nil
}

// lookTrusted finds name as execvp would, in TrustedPath: the first
// regular file with an execute bit. A name with a slash is a path, as for
// execvp, and must then be absolute.
func lookTrusted(name string) (string, error) {
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			return "", fmt.Errorf("env would run %q relative to the plugin's working directory", name)
		}
		return name, nil
	}
	for _, dir := range filepath.SplitList(TrustedPath) {
		path := dir + "/" + name
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return path, nil
		}
	}
	return "", fmt.Errorf("env finds no %q in %s (plugvisor looks there, never in $PATH)", name, TrustedPath)
}
