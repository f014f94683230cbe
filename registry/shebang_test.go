package registry

import (
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// The #! line is split as Linux splits it: one interpreter, then the rest
// of the line as at most one argument.
func TestParseShebangLikeLinux(t *testing.T) {
	long := "/" + strings.Repeat("x", 300)
	longArg := strings.Repeat("a", 300)
	for _, c := range []struct {
		name, head string
		interp     string
		arg        []string
		err        error
	}{
		{"plain", "#!/bin/sh\necho hi\n", "/bin/sh", nil, nil},
		{"one argument", "#!/bin/sh -e\n", "/bin/sh", []string{"-e"}, nil},
		{"the rest is one argument", "#! /usr/bin/python3 -u -W ignore  \n", "/usr/bin/python3", []string{"-u -W ignore"}, nil},
		{"tabs", "#!\t/bin/sh\t-e\t\n", "/bin/sh", []string{"-e"}, nil},
		{"trailing blanks", "#!/bin/sh \t \n", "/bin/sh", nil, nil},
		{"no newline in a short file", "#!/bin/sh -x", "/bin/sh", []string{"-x"}, nil},
		{"NUL ends the name", "#!/bin/sh\x00 -e\n", "/bin/sh", nil, nil},
		{"NUL ends the argument", "#!/bin/sh -e\x00junk\n", "/bin/sh", []string{"-e"}, nil},
		{"carriage return is kept", "#!/bin/sh\r\n", "/bin/sh\r", nil, nil},
		{"no interpreter", "#!\n", "", nil, errNoInterpreter},
		{"only blanks", "#!   \t\n", "", nil, errNoInterpreter},
		{"only blanks, no newline", "#!" + strings.Repeat(" ", 300), "", nil, errNoInterpreter},
		{"name longer than the buffer", "#!" + long + "\n", "", nil, errShebangTooLong},
		// The kernel cuts an argument at its buffer silently; so do we.
		{"long argument is cut", "#!/bin/sh " + longArg + "\n", "/bin/sh", []string{longArg[:shebangMax-1-len("#!/bin/sh ")]}, nil},
	} {
		interp, arg, ok, err := parseShebang([]byte(c.head)[:min(len(c.head), shebangMax)])
		if !ok || err != c.err || interp != c.interp || !reflect.DeepEqual(arg, c.arg) {
			t.Errorf("%s: got %q %q %v %v; want %q %q %v", c.name, interp, arg, ok, err, c.interp, c.arg, c.err)
		}
	}
	if _, _, ok, err := parseShebang([]byte("\x7fELF")); ok || err != nil {
		t.Errorf("an ELF is a script: %v %v", ok, err)
	}
}

func TestEnvCommand(t *testing.T) {
	t.Setenv("PATH", TrustedPath)
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	for arg, want := range map[string]interpreter{
		"sh":                    {path: sh},
		"-S sh -e -u":           {path: sh, args: []string{"-e", "-u"}},
		"-Ssh -e":               {path: sh, args: []string{"-e"}},
		"-S  sh\t-e ":           {path: sh, args: []string{"-e"}},
		"/usr/bin/env-as-is":    {path: "/usr/bin/env-as-is"},
		"-S /opt/node/bin/node": {path: "/opt/node/bin/node"},
	} {
		got, err := envCommand([]string{arg})
		if err != nil || got.path != want.path || !reflect.DeepEqual(got.args, want.args) {
			t.Errorf("env %q = %+v, %v; want %+v", arg, got, err, want)
		}
	}
	for arg, want := range map[string]string{
		"":                       `env finds no "" in`,
		"-i sh":                  `env option "-i" is not supported: plugvisor runs the interpreter itself and understands only "env NAME" and "env -S NAME ARGS..."`,
		"--split-string=sh":      `env option "--split-string=sh" is not supported`,
		"-S -i sh":               `env option "-i" is not supported`,
		"-S":                     `#! names env -S but no program for it to run`,
		"sh -e":                  `Linux passes "sh -e" to env as one word, which names no program; write "#!/usr/bin/env -S sh -e" to pass arguments`,
		"LANG=C":                 `env would read "LANG=C" as a variable to set, which plugvisor does not do for an interpreter; set it in the plugin's env table`,
		"-S LANG=C sh":           `env would read "LANG=C" as a variable`,
		`-S sh -c 'echo x'`:      `env -S would read quotes, backslashes, $ and # specially, and plugvisor splits on whitespace only: write " sh -c 'echo x'" without them`,
		"-S sh ${HOME}":          `env -S would read quotes`,
		"./sh":                   `env would run "./sh" relative to the plugin's working directory`,
		"no-such-prog-plugvisor": `env finds no "no-such-prog-plugvisor" in /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin (plugvisor looks there, never in $PATH)`,
	} {
		_, err := envCommand([]string{arg})
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("env %q: error %v\nwant it to start %s", arg, err, want)
		}
	}
	if _, err := envCommand(nil); err == nil || err.Error() != "#! names env but no program for it to run" {
		t.Errorf("bare env: %v", err)
	}
}
