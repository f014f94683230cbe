package registry

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"
)

// The TOML is first decoded into a generic tree and then converted key by
// key, instead of letting toml fill the structs: toml's struct decoding stops
// at the first bad value, and an operator should see every problem at once.
// The field tables below are the schema: they decode known keys and let
// anything else be reported as unknown.

// setter converts one TOML value into its Go field.
type setter func(d *decoder, k keyPath, v any)

// decoder turns a generic TOML tree into typed values, reporting problems
// against the positions of one file and resolving paths against its dir.
type decoder struct {
	src  sourceMap
	dir  string // relative paths are resolved against this absolute dir
	errs *Errors
}

func (d *decoder) fail(k keyPath, format string, args ...any) {
	d.errs.add(d.src.pos(k), k.String(), format, args...)
}

// table decodes v with fields, reporting unknown keys with a suggestion. It
// is false if v is no table at all.
func (d *decoder) table(k keyPath, v any, fields map[string]setter) bool {
	tbl, ok := v.(map[string]any)
	if !ok {
		d.fail(k, "must be a table, got %s", describe(v))
		return false
	}
	for _, name := range slices.Sorted(maps.Keys(tbl)) {
		if set, ok := fields[name]; ok {
			set(d, k.key(name), tbl[name])
			continue
		}
		d.fail(k.key(name), "unknown key%s", suggest(name, slices.Collect(maps.Keys(fields))))
	}
	return true
}

func tableOf(fields map[string]setter) setter {
	return func(d *decoder, k keyPath, v any) { d.table(k, v, fields) }
}

func str(dst *string) setter {
	return func(d *decoder, k keyPath, v any) {
		if s, ok := v.(string); ok {
			*dst = s
			return
		}
		d.fail(k, "must be a string, got %s", describe(v))
	}
}

// path decodes a file path, made absolute against the defining file's dir so
// a config means the same files whatever directory plugvisor starts in.
func path(dst *string) setter {
	return func(d *decoder, k keyPath, v any) {
		switch s, ok := v.(string); {
		case !ok:
			d.fail(k, "must be a string, got %s", describe(v))
		case s == "":
			d.fail(k, "must not be empty")
		default:
			*dst = d.abs(s)
		}
	}
}

// pathElem is path for the elements of a list.
func pathElem(d *decoder, k keyPath, s string) (string, bool) {
	if s == "" {
		d.fail(k, "must not be empty")
		return "", false
	}
	return d.abs(s), true
}

func (d *decoder) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(d.dir, p)
}

func boolean(dst *bool) setter {
	return func(d *decoder, k keyPath, v any) {
		if b, ok := v.(bool); ok {
			*dst = b
			return
		}
		d.fail(k, "must be true or false, got %s", describe(v))
	}
}

func integer(dst *int) setter {
	return func(d *decoder, k keyPath, v any) {
		if n, ok := v.(int64); ok && int64(int(n)) == n {
			*dst = int(n)
			return
		}
		d.fail(k, "must be an integer, got %s", describe(v))
	}
}

// duration decodes a string for time.ParseDuration. A bare number is refused
// because nobody can tell whether 5 means seconds or nanoseconds. A value out
// of range is reported here and leaves the default in place.
func duration(dst *time.Duration, allowZero bool) setter {
	return func(d *decoder, k keyPath, v any) {
		s, ok := v.(string)
		if !ok {
			d.fail(k, "must be a duration string such as \"500ms\" or \"5s\", got %s", describe(v))
			return
		}
		t, err := time.ParseDuration(s)
		switch {
		case err != nil:
			d.fail(k, "invalid duration %q (want e.g. \"500ms\", \"5s\", \"1m30s\")", s)
		case t < 0 && allowZero:
			d.fail(k, "must not be negative, got %s", s)
		case t <= 0 && !allowZero:
			d.fail(k, "must be positive, got %s", s)
		default:
			*dst = t
		}
	}
}

func size(dst *Size) setter {
	return func(d *decoder, k keyPath, v any) {
		n, err := sizeValue(v)
		if err != nil {
			d.fail(k, "%v", err)
			return
		}
		*dst = n
	}
}

// sizeValue reads a size written as a number of bytes or a string.
func sizeValue(v any) (Size, error) {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return 0, fmt.Errorf("must not be negative, got %d", x)
		}
		return Size(x), nil
	case string:
		return ParseSize(x)
	}
	return 0, fmt.Errorf("must be a size such as \"10MiB\", got %s", describe(v))
}

// stringList decodes an array of strings; each is passed through elem, which
// reports per element (so a multi-line list points at the bad line).
func stringList(dst *[]string, elem func(d *decoder, k keyPath, s string) (string, bool)) setter {
	return func(d *decoder, k keyPath, v any) {
		arr, ok := v.([]any)
		if !ok {
			d.fail(k, "must be an array of strings, got %s", describe(v))
			return
		}
		out := make([]string, 0, len(arr))
		for i, e := range arr {
			s, ok := e.(string)
			if !ok {
				d.fail(k.index(i), "must be a string, got %s", describe(e))
				continue
			}
			if elem != nil {
				if s, ok = elem(d, k.index(i), s); !ok {
					continue
				}
			}
			out = append(out, s)
		}
		*dst = out
	}
}

func stringMap(dst *map[string]string) setter {
	return func(d *decoder, k keyPath, v any) {
		tbl, ok := v.(map[string]any)
		if !ok {
			d.fail(k, "must be a table of strings, got %s", describe(v))
			return
		}
		out := make(map[string]string, len(tbl))
		for _, name := range slices.Sorted(maps.Keys(tbl)) {
			if s, ok := tbl[name].(string); ok {
				out[name] = s
				continue
			}
			d.fail(k.key(name), "must be a string, got %s", describe(tbl[name]))
		}
		*dst = out
	}
}

func agentFields(a *Agent) map[string]setter {
	fields := map[string]setter{
		"name":                 str(&a.Name),
		"host":                 str(&a.Host),
		"work_dir":             path(&a.WorkDir),
		"socket":               path(&a.Socket),
		"control_socket":       path(&a.ControlSocket),
		"heartbeat_interval":   duration(&a.HeartbeatInterval, false),
		"heartbeat_timeout":    duration(&a.HeartbeatTimeout, false),
		"registration_timeout": duration(&a.RegistrationTimeout, false),
		"task_timeout":         duration(&a.TaskTimeout, false),
		"stop_grace":           duration(&a.StopGrace, true),
		"max_frame":            size(&a.MaxFrame),
		"log_max_size":         size(&a.LogMaxSize),
		"log_backups":          integer(&a.LogBackups),
		"subscriber_buffer":    size(&a.SubscriberBuffer),
		"output_buffer":        size(&a.OutputBuffer),
		"task_reply_buffer":    size(&a.TaskReplyBuffer),
		"log_memory":           size(&a.LogMemory),
		"history_memory":       size(&a.HistoryMemory),
		"restart_burst":        integer(&a.RestartBurst),
		"restart_window":       duration(&a.RestartWindow, false),
		"manifest_dirs":        stringList(&a.ManifestDirs, pathElem),
		"theme":                str(&a.Theme),
		"metrics_listen":       listen(&a.MetricsListen),
	}
	maps.Copy(fields, limitFields(&a.Limits))
	fields["user"] = account(&a.User)
	fields["group"] = account(&a.Group)
	return fields
}

func pluginFields(p *Plugin) map[string]setter {
	fields := map[string]setter{
		"exec":          path(&p.Exec),
		"args":          stringList(&p.Args, nil),
		"env":           stringMap(&p.Env),
		"version":       str(&p.Version),
		"sha256":        str(&p.SHA256),
		"auto_start":    boolean(&p.AutoStart),
		"restart":       str((*string)(&p.Restart)), // validated with the rest of the config
		"start_timeout": duration(&p.StartTimeout, false),
		"instances":     integer(&p.Instances),
		"author":        str(&p.Author),
		"description":   str(&p.Description),
	}
	for key, set := range limitFields(&p.Limits) {
		fields[key] = p.noting(key, set)
	}
	fields["user"] = p.noting("user", account(&p.User))
	fields["group"] = p.noting("group", account(&p.Group))
	fields["sandbox"] = sandboxTable(p)
	fields["require_signature"] = p.noting("require_signature", boolean(&p.RequireSignature))
	fields["signature"] = p.noting("signature", path(&p.Signature))
	fields["allow_downgrade"] = boolean(&p.AllowDowngrade)
	return fields
}

// noting decodes a key that defaults to the agent's and records that the
// plugin wrote it, so that even its "none" overrides the default.
func (p *Plugin) noting(key string, set setter) setter {
	return func(d *decoder, k keyPath, v any) {
		if p.own == nil {
			p.own = map[string]bool{}
		}
		p.own[key] = true
		set(d, k, v)
	}
}

// describe names a TOML value's type for messages, with the value when short.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("float %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	default:
		return fmt.Sprintf("a %T", v) // date-times
	}
}

// suggest returns ` (did you mean "x"?)` for the known key nearest to name,
// if it is near enough to be a likely typo.
func suggest(name string, known []string) string {
	best, bestDist := "", max(1, len(name)/3)+1
	for _, k := range slices.Sorted(slices.Values(known)) {
		if dist := editDistance(name, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost 1, since a
// swapped pair ("agnet") is the most common typo of all.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
