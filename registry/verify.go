package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/sys/unix"
)

// ErrVerifierClosed is returned by Verify after Close.
var ErrVerifierClosed = errors.New("verifier closed")

// Executable is a verified plugin executable, ready to run with Command.
//
// os/exec cannot fexecve, and hashing a path then executing the path lets
// the file be swapped in between. So File holds exactly the bytes that were
// hashed: pass it in Cmd.ExtraFiles, as fd 3, and run what Command returns
// for "/proc/self/fd/3". A binary is a sealed memfd, executed through that
// path. A "#!" script is not left to the kernel: Command runs the
// interpreter plugvisor resolved and checked (see Interpreter), with the
// script's path, /proc/self/fd/3, as its argument, descriptors in
// ExtraFiles staying open across exec for it to read.
//
// What a script sees as its own path: argv hands it /proc/self/fd/3 (its
// $0, sys.argv[0], process.argv[1]). From NewVerifier that is a sealed
// memfd, whose real path "/memfd:plugvisor:<name> (deleted)" cannot be
// opened, so an interpreter that resolves its script's real path and opens
// that (Node.js does) cannot run it. From NewVerifierIn(dir) it is a
// read-only file whose real path is <dir>/<sha256>/<name> (dir's real
// path; name is the configured path's base name), which is what Node.js
// gives as __filename. Either way, files beside the original script are not
// beside the copy: code a script loads relative to its own location is not
// found there, so unverified code is not loaded from there.
type Executable struct {
	// File is a descriptor of its own for each Verify call, owned by the
	// caller: close it once the child has started. Closing it never
	// disturbs other Executables or the Verifier's cache.
	File   *os.File
	Path   string // the configured path, for argv[0] and messages
	SHA256 string
	Size   int64
	// Interpreter is, for a "#!" script, the absolute path of the
	// interpreter that runs it: as the #! line names it, or as found in
	// TrustedPath for "#!/usr/bin/env NAME" (env itself is not run). Links
	// are left in place, so the interpreter sees the name it was asked by
	// (bash run as sh keeps its POSIX mode, busybox picks its applet); every
	// link and directory on the way passed the trust check when this
	// Executable was made. "" for a binary.
	Interpreter string
	// InterpreterArgs are the arguments the #! line gives the interpreter
	// before the script's path: Linux's one (spaces and all), or env -S's
	// words after NAME.
	InterpreterArgs []string
	// Signature is the verified signature that authorised the content,
	// from VerifyPlugin for a plugin that requires one; nil otherwise.
	Signature *Signature

	copy *sealedCopy // for its digest, computed once
}

// Command returns the program to execute and its whole argv (argv[0]
// included), for a child that has File as the descriptor self names
// (the supervisor passes "/proc/self/fd/3"): a binary is self itself, with
// its configured path as argv[0]; a script is its interpreter, given self
// as the script.
func (e *Executable) Command(self string, args []string) (path string, argv []string) {
	if e.Interpreter == "" {
		return self, append([]string{e.Path}, args...)
	}
	argv = make([]string, 0, len(e.InterpreterArgs)+len(args)+2)
	argv = append(argv, e.Interpreter)
	argv = append(argv, e.InterpreterArgs...)
	argv = append(argv, self)
	return e.Interpreter, append(argv, args...)
}

// Verifier checks executables against their expected sha256 and keeps one
// sealed copy per content, so starting a plugin again, or many instances of
// one binary, costs an open and an fstat rather than a hash.
type Verifier struct {
	mu     sync.Mutex
	paths  map[string]pathEntry   // configured path → the file last verified there
	copies map[string]*sealedCopy // copy key (see copyKey) → the copy
	dir    string                 // where scripts are copied to files; "" keeps them in memfds
	root   *os.File               // dir, opened and locked by the first script copied there
	closed bool
	racy   time.Duration // see pathEntry.trusted
	trust  trustRule     // what a script's interpreter must pass
	hashes int           // files hashed and remembered, for tests
	// sigs are the signature files whose Ed25519 checks passed, by path,
	// and sigChecks counts the checks made: see Counts.
	sigs      map[string]sigEntry
	sigChecks int
}

// identity tells whether a path still holds the file that was hashed: an
// in-place rewrite changes ctime (which no one can set back without root),
// a rename over the path changes the inode.
type identity struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // ns
}

type pathEntry struct {
	id  identity
	sum string
	key string // of its copy in Verifier.copies: see copyKey
	// trusted is false when the file changed within racy of being hashed.
	// File times come from a coarse clock (a tick, or a whole second on
	// some filesystems), so a same-size rewrite right after hashing could
	// leave the identity unchanged; like git's "racily clean" index
	// entries, such a file is hashed again each time until it settles.
	trusted bool
}

// sealedCopy is one verified content: a sealed memfd, or for a script in a
// Verifier's dir an O_RDONLY descriptor of its file there.
type sealedCopy struct {
	file *os.File
	size int64
	head []byte // start of the content, for its #! line
	// blake is the content's BLAKE2b-512, which minisign's prehashed
	// signatures sign; nil until a signature needs it. Set under the
	// Verifier's mu.
	blake []byte
	refs  int    // paths whose entry names this copy
	name  string // a file copy's path under the dir, "<sha256>/<name>"; "" for a memfd
}

// NewVerifier returns an empty Verifier, which keeps every copy in a sealed
// memfd; Close it to free its copies.
func NewVerifier() *Verifier {
	return &Verifier{paths: map[string]pathEntry{}, copies: map[string]*sealedCopy{}, sigs: map[string]sigEntry{}, racy: 2 * time.Second, trust: currentTrust()}
}

// NewVerifierIn returns a Verifier that keeps the copy of each "#!" script
// as a file, <dir>/<sha256>/<base name of the configured path>, rather
// than in a memfd; binaries still get sealed memfds. An interpreter that
// resolves its script's real path and opens that (Node.js) needs a real
// file: see Executable.
//
// The first script verified makes dir (mode 0711) if it is missing, its
// parent must exist, and locks it: one Verifier per dir. A dir that is a
// symlink, is not the supervisor's user's, is writable by group or others,
// or lies below a directory that fails the interpreter trust rule is
// refused, by Verify and for scripts only. Each content's dir is 0711 and
// each copy 0555, created O_EXCL|O_NOFOLLOW and filled with exactly the
// bytes hashed, so a plugin running as another user can read and run it
// and nobody but the supervisor's user can change it; every directory above
// dir must let such users search it. A copy is removed once no configured
// path names it (Retain, a changed file, Close). A file a previous run left
// is reused only if it holds exactly that content, made as the Verifier
// makes its own; anything else is removed and written anew.
func NewVerifierIn(dir string) *Verifier {
	v := NewVerifier()
	v.dir = dir
	if abs, err := filepath.Abs(dir); err == nil {
		v.dir = abs
	}
	return v
}

// Verify opens path once, checks it is a regular executable file, and returns
// a verified copy of its content (see Executable) if its sha256 is want. Errors are permanent
// (see IsPermanent) unless the system itself failed: a missing file satisfies
// errors.Is(err, fs.ErrNotExist), a bad mode ErrNotRegular or
// ErrNotExecutable, a script with a bad #! line ErrBadInterpreter, one whose
// interpreter fails the trust check ErrUntrustedInterpreter, and a mismatch
// is a *ChecksumError.
func (v *Verifier) Verify(path, want string) (*Executable, error) {
	if !validSHA256(want) {
		return nil, fmt.Errorf("verify %s: %w: expected value %q is not 64 lowercase hex digits", path, ErrBadChecksum, want)
	}
	return v.verify(path, want, false)
}

// verify is Verify with want "" meaning any content; digest computes the
// content's BLAKE2b-512 while copying it, for a signature check.
func (v *Verifier) verify(path, want string, digest bool) (*Executable, error) {
	f, id, err := openExecutable(path)
	if err != nil {
		return nil, fmt.Errorf("verify %w", err) // err starts with the path
	}
	defer f.Close()

	if exe, ok, err := v.fromCache(path, id, want); ok {
		return exe, err
	}
	hashedAt := time.Now()
	c, sum, err := sealCopy(f, path, digest)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", path, err)
	}
	if want != "" && sum != want {
		c.file.Close()
		v.forget(path)
		return nil, &ChecksumError{Path: path, Want: want, Got: sum}
	}
	trusted := hashedAt.Sub(time.Unix(0, id.ctime)) > v.racy
	return v.remember(path, pathEntry{id: id, sum: sum, trusted: trusted}, c)
}

// openExecutable opens path for reading and checks what it opened, so the
// checks and the hash are about one file whatever happens to the path.
// O_NONBLOCK keeps a named pipe at the path from hanging the open; it means
// nothing for the regular file that is the only thing accepted.
func openExecutable(path string) (*os.File, identity, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, identity{}, fmt.Errorf("%s: %w", path, statErr(err))
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err == nil {
		err = checkMode(path, fi.Mode())
	}
	if err == nil {
		err = checkMount(fd, path)
	}
	if err != nil {
		f.Close()
		return nil, identity{}, err
	}
	st := fi.Sys().(*syscall.Stat_t)
	return f, identity{
		dev: st.Dev, ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}, nil
}

// checkMount refuses files on a noexec mount: running a copy from a memfd
// would otherwise sidestep the operator's noexec.
func checkMount(fd int, path string) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return fmt.Errorf("%s: statfs: %w", path, err)
	}
	if st.Flags&unix.ST_NOEXEC != 0 {
		return fmt.Errorf("%s: %w (it is on a noexec mount)", path, ErrNotExecutable)
	}
	return nil
}

// fromCache answers from the cache when path still holds the file hashed
// before; ok is false when the file must be hashed.
func (v *Verifier) fromCache(path string, id identity, want string) (*Executable, bool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.paths[path]
	if !ok || !e.trusted || e.id != id {
		return nil, false, nil
	}
	if want != "" && e.sum != want {
		return nil, true, &ChecksumError{Path: path, Want: want, Got: e.sum}
	}
	exe, err := v.handOut(path, e.sum, v.copies[e.key])
	return exe, true, err
}

// remember records that path holds content sum and hands out its copy. An
// existing copy of the same content wins, so identical binaries share one.
func (v *Verifier) remember(path string, e pathEntry, c *sealedCopy) (*Executable, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.hashes++
	if v.closed {
		c.file.Close()
		return nil, fmt.Errorf("verify %s: %w", path, ErrVerifierClosed)
	}
	e.key = v.copyKey(path, e.sum, c)
	c, err := v.adopt(e.key, e.sum, c)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", path, err)
	}
	c.refs++ // before release: path may already name this same copy
	// A file copy release fails to remove is checked before any reuse.
	_ = v.release(path)
	v.paths[path] = e
	return v.handOut(path, e.sum, c)
}

// adopt returns the copy to keep under key: the one kept already, else c,
// moved to a file first when key says so. v.mu must be held; c is closed
// unless it is kept itself.
func (v *Verifier) adopt(key, sum string, c *sealedCopy) (*sealedCopy, error) {
	if have, ok := v.copies[key]; ok {
		if have.blake == nil {
			have.blake = c.blake
		}
		c.file.Close()
		return have, nil
	}
	if key != sum {
		fc, err := v.fileCopy(c, key)
		if fc != nil {
			fc.blake = c.blake
		}
		c.file.Close() // the file holds the content now, or nothing does
		if err != nil {
			return nil, err
		}
		c = fc
	}
	v.copies[key] = c
	return c, nil
}

// copyKey names the copy path's content sum gets: the sum for a memfd,
// which any path of that content may share; "<sum>/<name>" for a script
// copied to a file, since an interpreter may care about its script's name
// (Node.js tells .mjs from .cjs by it).
func (v *Verifier) copyKey(path, sum string, c *sealedCopy) string {
	if v.dir == "" || !bytes.HasPrefix(c.head, []byte("#!")) {
		return sum
	}
	return sum + "/" + copyName(path)
}

// forget drops what is known about path, which no longer holds that file.
func (v *Verifier) forget(path string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	_ = v.release(path) // a copy left behind is checked before any reuse
	delete(v.paths, path)
}

// Retain forgets every path not in keep, closing copies no remaining path
// names and removing the files of scripts' copies. A supervisor calls it
// after a reload: deployments that install each version under a new path
// would otherwise keep every old binary in memory. A script's Executable
// handed out before still holds its content, but an interpreter opening
// the copy by its real path no longer finds it.
func (v *Verifier) Retain(keep []string) {
	want := make(map[string]bool, len(keep))
	for _, p := range keep {
		want[p] = true
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for path := range v.paths {
		if !want[path] {
			_ = v.release(path) // a copy left behind is checked before any reuse
			delete(v.paths, path)
		}
	}
	for sig, e := range v.sigs {
		if !want[e.exec] {
			delete(v.sigs, sig)
		}
	}
}

// release drops path's reference to its copy and closes the copy when no
// path names it, removing a file copy. Executables already handed out hold
// their own descriptors, so the content lives on for them.
func (v *Verifier) release(path string) error {
	e, ok := v.paths[path]
	if !ok {
		return nil
	}
	c := v.copies[e.key]
	if c.refs--; c.refs > 0 {
		return nil
	}
	delete(v.copies, e.key)
	return errors.Join(c.file.Close(), v.removeCopy(c.name))
}

// handOut gives the caller a descriptor of its own for the copy; v.mu must
// be held so the copy cannot be closed meanwhile. It checks the interpreter
// every time: the script is sealed, its interpreter is not.
func (v *Verifier) handOut(path, sum string, c *sealedCopy) (*Executable, error) {
	run, err := scriptInterpreter(path, c.head, v.trust)
	if err != nil {
		return nil, fmt.Errorf("verify %w", err)
	}
	fd, err := unix.FcntlInt(c.file.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("verify %s: dup verified copy: %w", path, err)
	}
	return &Executable{
		File:            os.NewFile(uintptr(fd), "verified copy of "+path),
		Path:            path,
		SHA256:          sum,
		Size:            c.size,
		Interpreter:     run.path,
		InterpreterArgs: run.args,
		copy:            c,
	}, nil
}

// Close closes the cached copies, removes the files of scripts' copies and
// unlocks the dir. Executables handed out stay valid, as far as Retain
// says.
func (v *Verifier) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	var errs []error
	for key, c := range v.copies {
		errs = append(errs, c.file.Close(), v.removeCopy(c.name))
		delete(v.copies, key)
	}
	clear(v.paths)
	clear(v.sigs)
	if v.root != nil {
		errs = append(errs, v.root.Close()) // which releases the lock
		v.root = nil
	}
	return errors.Join(errs...)
}

// seals make the copy immutable for good: no writes, no resizing, and no
// removing these seals.
const seals = unix.F_SEAL_WRITE | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL

// sealCopy streams f through sha256 into a new memfd and seals it, so what
// runs later is exactly what was hashed; with digest, through BLAKE2b-512
// too, on the side (see asideHash).
func sealCopy(f *os.File, path string, digest bool) (*sealedCopy, string, error) {
	mem, err := memfd("plugvisor:" + filepath.Base(path))
	if err != nil {
		return nil, "", err
	}
	const chunk = 256 << 10
	h := sha256.New()
	var b *asideHash
	w := io.MultiWriter(mem, h)
	if digest {
		bh, _ := blake2b.New512(nil) // only a key can make it fail
		b = newAsideHash(bh, chunk)
		w = io.MultiWriter(mem, h, b)
	}
	buf := make([]byte, chunk)
	// Hiding f's WriteTo makes io.CopyBuffer use buf instead of 32 KiB reads.
	n, err := io.CopyBuffer(w, struct{ io.Reader }{f}, buf)
	var blake []byte
	if b != nil {
		blake = b.Sum() // ends its goroutine, whatever happened
	}
	if err != nil {
		mem.Close()
		return nil, "", fmt.Errorf("copy into memfd: %w", err)
	}
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		mem.Close()
		return nil, "", fmt.Errorf("seal memfd: %w", err)
	}
	head := make([]byte, min(n, shebangMax))
	if _, err := mem.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		mem.Close()
		return nil, "", fmt.Errorf("read back memfd: %w", err)
	}
	c := &sealedCopy{file: mem, size: n, head: head, blake: blake}
	return c, hex.EncodeToString(h.Sum(nil)), nil
}

// memfd creates a close-on-exec, sealable memfd that may be executed.
// MFD_EXEC (Linux 6.3+) says so explicitly, which matters when the
// vm.memfd_noexec sysctl makes memfds non-executable by default; older
// kernels reject the flag, so retry without it.
func memfd(name string) (*os.File, error) {
	flags := unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	fd, err := unix.MemfdCreate(name, flags|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate(name, flags)
	}
	if errors.Is(err, unix.EACCES) {
		return nil, fmt.Errorf("memfd_create: executable memfds are disabled on this system (sysctl vm.memfd_noexec=2): %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}
