package registry

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/BurntSushi/toml"
)

// Load reads, completes and validates the config file at path and the
// manifests it points to. Problems in the files come back together as
// *Errors; only a config file that cannot be read at all fails otherwise.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load for a config already in memory; name is used in positions
// and its directory anchors relative paths. Manifests are read from disk.
func Parse(name string, data []byte) (*Config, error) {
	dir, err := filepath.Abs(filepath.Dir(name))
	if err != nil {
		return nil, fmt.Errorf("parse config %s: %w", name, err)
	}
	l := &loader{
		cfg:    &Config{Files: []string{name}, Agent: defaultAgent(os.Getenv)},
		byName: map[string]*Plugin{},
	}
	tree, src, ok := readTOML(name, data, nil, &l.errs)
	if !ok {
		return nil, &l.errs
	}
	l.src = src // manifests add theirs
	d := &decoder{src: src, dir: dir, errs: &l.errs}
	d.table(nil, tree, map[string]setter{
		"agent":   tableOf(agentFields(&l.cfg.Agent)),
		"plugins": l.plugins,
		"hosts":   l.hosts,
		"fleet":   fleetTable(&l.cfg.Fleet),
		"trust":   trustTable(l),
	})
	finishAgent(&l.cfg.Agent)
	finishFleet(l.cfg.Fleet, &l.cfg.Agent)
	for i, dir := range l.cfg.Agent.ManifestDirs {
		k := keyPath{"agent", "manifest_dirs"}.index(i)
		if slices.Index(l.cfg.Agent.ManifestDirs, dir) < i {
			// Scanning it again would report each of its plugins as defined twice.
			l.errs.add(l.src.pos(k), k.String(), "%s is listed twice", dir)
			continue
		}
		l.scanManifests(k, dir)
	}
	return l.finish()
}

// loader gathers one config from its main file and manifests.
type loader struct {
	cfg    *Config
	src    sourceMap // positions of every accepted key, across files
	byName map[string]*Plugin
	errs   Errors
}

func (l *loader) plugins(d *decoder, k keyPath, v any) {
	tbl, ok := v.(map[string]any)
	if !ok {
		d.fail(k, "must be a table of plugins, got %s", describe(v))
		return
	}
	for _, name := range slices.Sorted(maps.Keys(tbl)) {
		pk := k.key(name)
		p := newPlugin(name, d.src.pos(pk))
		if d.table(pk, tbl[name], pluginFields(p)) {
			l.byName[name] = p
		}
	}
}

func (l *loader) hosts(d *decoder, k keyPath, v any) {
	tbl, ok := v.(map[string]any)
	if !ok {
		d.fail(k, "must be a table of hosts, got %s", describe(v))
		return
	}
	l.cfg.Hosts = map[string]Host{}
	for _, name := range slices.Sorted(maps.Keys(tbl)) {
		hk := k.key(name)
		h := Host{Where: d.src.pos(hk)}
		if d.table(hk, tbl[name], map[string]setter{"plugins": stringList(&h.Plugins, nil)}) {
			l.cfg.Hosts[name] = h
		}
	}
}

// finish fills derived defaults, validates, and returns the config or every
// problem found in it.
func (l *loader) finish() (*Config, error) {
	users := &accounts{src: l.src, errs: &l.errs}
	agent := users.resolve(keyPath{"agent"}, l.cfg.Agent.User, l.cfg.Agent.Group)
	for _, name := range slices.Sorted(maps.Keys(l.byName)) {
		p := l.byName[name]
		finishPlugin(p, &l.cfg.Agent)
		finishSignature(p, l.cfg.Trust)
		id := users.plugin(p, agent)
		p.UID, p.GID = id.uid, id.gid
		l.cfg.Plugins = append(l.cfg.Plugins, p)
	}
	validate(l.cfg, l.src, &l.errs)
	if len(l.errs) > 0 {
		l.errs.sortBy(l.cfg.Files)
		return nil, &l.errs
	}
	return l.cfg, nil
}

// readTOML parses one file into a generic tree and the positions of its
// keys, each key prefixed (a manifest's keys live under plugins.<name>).
func readTOML(file string, data []byte, prefix keyPath, errs *Errors) (map[string]any, sourceMap, bool) {
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			errs.add(Pos{File: file, Line: pe.Position.Line, Col: pe.Position.Col}, "", "%s", pe.Message)
		} else {
			errs.add(Pos{File: file}, "", "%v", err)
		}
		return nil, nil, false
	}
	src := sourceMap{"": {File: file}}
	pre := prefix.String()
	for k, line := range keyLines(string(data)) {
		if pre != "" {
			k = pre + "." + k
		}
		src[k] = Pos{File: file, Line: line}
	}
	return tree, src, true
}

// sourceMap maps keys (keyPath.String() form) to where they were written;
// the key "" holds the file itself, for keys that appear nowhere.
type sourceMap map[string]Pos

// lookup returns the position of k, or of its nearest written parent: a
// missing key is best reported at the table that lacks it.
func (s sourceMap) lookup(k keyPath) (Pos, bool) {
	for n := len(k); n > 0; n-- {
		if p, ok := s[k[:n].String()]; ok {
			return p, true
		}
	}
	return Pos{}, false
}

func (s sourceMap) pos(k keyPath) Pos {
	if p, ok := s.lookup(k); ok {
		return p
	}
	return s[""]
}

func (s sourceMap) has(k keyPath) bool {
	_, ok := s[k.String()]
	return ok
}

// merge adds other's keys, keeping s's notion of the file as a whole.
func (s sourceMap) merge(other sourceMap) {
	for k, p := range other {
		if k != "" {
			s[k] = p
		}
	}
}
