package registry

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// manifestFile is the file a plugin directory must hold to be a plugin.
const manifestFile = "plugin.toml"

// scanManifests adds every <dir>/<name>/plugin.toml. Entries without that
// file are not plugins and are passed over, as are hidden ones (".name"),
// which is how an operator parks a plugin without deleting it.
func (l *loader) scanManifests(k keyPath, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		l.errs.add(l.src.pos(k), k.String(), "cannot read manifest dir %s: %s", dir, reason(err))
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		file := filepath.Join(dir, e.Name(), manifestFile)
		data, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			continue
		}
		l.cfg.Files = append(l.cfg.Files, file)
		if err != nil {
			l.errs.add(Pos{File: file}, "", "cannot read manifest: %s", reason(err))
			continue
		}
		l.addManifest(file, e.Name(), data)
	}
}

// addManifest decodes one manifest: the body of a plugin table at top level,
// named after its directory, with relative paths resolved against it.
func (l *loader) addManifest(file, name string, data []byte) {
	k := keyPath{"plugins", name}
	tree, src, ok := readTOML(file, data, k, &l.errs)
	if !ok {
		return
	}
	where := Pos{File: file, Line: 1}
	src[k.String()] = where
	p := newPlugin(name, where)
	fields := pluginFields(p)
	for _, table := range []string{"agent", "plugins", "hosts"} {
		fields[table] = func(d *decoder, k keyPath, _ any) {
			d.fail(k, "not allowed in a manifest: it holds one plugin's keys at top level, named after its directory, without a table header")
		}
	}
	d := &decoder{src: src, dir: filepath.Dir(file), errs: &l.errs}
	d.table(k, tree, fields)
	if prev, dup := l.byName[name]; dup {
		l.errs.add(where, k.String(), "plugin %q is defined twice: at %s and at %s", name, prev.Where, where)
		return
	}
	l.src.merge(src)
	l.byName[name] = p
}

// reason is the OS's complaint without the path, which callers already say.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "no such file or directory"
	}
	return err.Error()
}
