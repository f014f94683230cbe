// Package signing is plugvisor's sign and keygen commands: minisign key
// pairs and signatures of plugin executables whose trusted comment binds
// the plugin's name and version (registry.Comment), which the registry
// verifies. Each command has a minisign equivalent (see the README), so a
// release pipeline can use either.
package signing

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"aead.dev/minisign"
	"golang.org/x/term"

	"github.com/plugvisor/plugvisor/internal/private"
	"github.com/plugvisor/plugvisor/registry"
)

// Exit codes, as plugvisor's own.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// maxKeyFile bounds a secret key file read: minisign's is two short lines.
const maxKeyFile = 16 << 10

const keygenUsage = `usage: plugvisor keygen -p PUBLIC_KEY_FILE -s SECRET_KEY_FILE [-W]

Makes a minisign key pair (as minisign -G -p PUB -s SEC). The secret key is
encrypted with a password read from the terminal (typed twice), or from the first line of
standard input when it is not one; -W leaves it unencrypted. Neither file
may exist already.
`

const signUsage = `usage: plugvisor sign -s SECRET_KEY_FILE -name PLUGIN -version VERSION [-x SIGNATURE_FILE] FILE

Signs FILE for plugin PLUGIN at VERSION, writing FILE.minisig (or -x), as
minisign -S -s SEC -m FILE -t "plugvisor-plugin name=PLUGIN version=VERSION time=$(date +%s)".
`

// KeygenCommand is plugvisor keygen.
func KeygenCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, keygenUsage) }
	pubPath := fs.String("p", "", "public key file to write")
	secPath := fs.String("s", "", "secret key file to write")
	plain := fs.Bool("W", false, "do not encrypt the secret key")
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if *pubPath == "" || *secPath == "" || fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	if err := keygen(*pubPath, *secPath, *plain, stdin, stderr, stdout); err != nil {
		fmt.Fprintln(stderr, "plugvisor keygen:", err)
		return exitFailure
	}
	return exitOK
}

func keygen(pubPath, secPath string, plain bool, stdin io.Reader, prompt, stdout io.Writer) error {
	pub, sec, err := minisign.GenerateKey(nil)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	var secText []byte
	if plain {
		secText, err = sec.MarshalText()
	} else {
		var pw string
		if pw, err = newPassword(stdin, prompt); err == nil {
			secText, err = minisign.EncryptKey(pw, sec)
		}
	}
	if err != nil {
		return err
	}
	pubText, _ := pub.MarshalText() // never fails
	if err := writeKeyPair(pubPath, secPath, append(pubText, '\n'), append(secText, '\n')); err != nil {
		return err
	}
	id := registry.KeyID(pub.ID())
	fmt.Fprintf(stdout, "key %s: public key %s, secret key %s\n\n[trust.keys.release]\npublic_key = %q\nplugins = [\"*\"]\n",
		id, pubPath, secPath, pub.String())
	return nil
}

// writeKeyPair writes a key pair's two new files, the secret one 0600,
// both refusing a file that exists or a symlink: both are made before
// either is written, and a failure removes what it made, so a key pair is
// whole or absent (never a secret key without its public half).
func writeKeyPair(pubPath, secPath string, pubText, secText []byte) error {
	sec, err := private.Create(secPath)
	if err != nil {
		return fmt.Errorf("create %s: %w", secPath, err)
	}
	pub, err := private.CreateMode(pubPath, 0o644)
	if err != nil {
		sec.Close()
		os.Remove(secPath)
		return fmt.Errorf("create %s: %w", pubPath, err)
	}
	err = writeClose(sec, secText)
	if perr := writeClose(pub, pubText); err == nil {
		err = perr
	}
	if err != nil {
		os.Remove(secPath)
		os.Remove(pubPath)
		return fmt.Errorf("write key pair: %w", err)
	}
	return nil
}

func writeClose(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// usageCode is the exit code of a command line flag refused: -h asked
// for the usage, anything else was wrong.
func usageCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// SignCommand is plugvisor sign.
func SignCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { io.WriteString(stderr, signUsage) }
	secPath := fs.String("s", "", "secret key file")
	name := fs.String("name", "", "plugin name")
	version := fs.String("version", "", "plugin version")
	out := fs.String("x", "", "signature file (default FILE.minisig)")
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if *secPath == "" || *name == "" || *version == "" || fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	file := fs.Arg(0)
	if *out == "" {
		*out = file + ".minisig"
	}
	id, err := Sign(*secPath, file, *out, *name, *version, time.Now(), stdin, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "plugvisor sign:", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "signed %s for plugin %s version %s with key %s: %s\n", file, *name, *version, id, *out)
	return exitOK
}

// Sign signs file for plugin name at version with the secret key in
// secPath, writing a prehashed minisign signature to out (replaced if it
// exists), and returns the key's id. An encrypted key's password is read
// from stdin (a terminal, or its first line).
func Sign(secPath, file, out, name, version string, at time.Time, stdin io.Reader, prompt io.Writer) (string, error) {
	comment := registry.Comment(name, version, at)
	if _, _, _, err := registry.ParseComment(comment); err != nil {
		return "", err
	}
	sec, err := readSecretKey(secPath, stdin, prompt)
	if err != nil {
		return "", err
	}
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	r := minisign.NewReader(f)
	if _, err := io.Copy(io.Discard, r); err != nil {
		return "", fmt.Errorf("read %s: %w", file, err)
	}
	id := registry.KeyID(sec.ID())
	sig := r.SignWithComments(sec, comment, "signature from plugvisor secret key "+id)
	if err := private.Replace(out, append(sig, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", out, err)
	}
	return id, nil
}

func readSecretKey(path string, stdin io.Reader, prompt io.Writer) (minisign.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return minisign.PrivateKey{}, err
	}
	defer f.Close()
	text, err := io.ReadAll(io.LimitReader(f, maxKeyFile))
	if err != nil {
		return minisign.PrivateKey{}, fmt.Errorf("read %s: %w", path, err)
	}
	var sec minisign.PrivateKey
	if !minisign.IsEncrypted(text) {
		if err := sec.UnmarshalText(text); err != nil {
			return sec, fmt.Errorf("%s: %w", path, err)
		}
		return sec, nil
	}
	pw, err := password(stdin, prompt, "password for "+path+": ")
	if err != nil {
		return sec, err
	}
	if sec, err = minisign.DecryptKey(pw, text); err != nil {
		return sec, fmt.Errorf("%s: %w", path, err)
	}
	return sec, nil
}

// newPassword reads the password for a new secret key: typed twice at a
// terminal, since a typo there would lock the key away for good; given
// once on a pipe, whose sender has it written down.
func newPassword(stdin io.Reader, prompt io.Writer) (string, error) {
	pw, err := password(stdin, prompt, "password for the new secret key: ")
	switch {
	case err != nil:
		return "", err
	case pw == "":
		return "", errors.New("an empty password (use -W for an unencrypted key)")
	case !isTerminal(stdin):
		return pw, nil
	}
	again, err := password(stdin, prompt, "the same password again: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the two passwords differ; nothing was written")
	}
	return pw, nil
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// password reads a password from the terminal without echo, or the first
// line of stdin when it is not a terminal (a pipeline's secret).
func password(stdin io.Reader, prompt io.Writer, ask string) (string, error) {
	if isTerminal(stdin) {
		f := stdin.(*os.File)
		fmt.Fprint(prompt, ask)
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(pw), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input (or use -W for an unencrypted key)")
	}
	return pw, nil
}
