package registry

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fleet is the [fleet] table: the link that publishes this host's records
// to a NATS server and JetStream stream shared by many hosts.
type Fleet struct {
	// Servers are the NATS URLs tried in turn (nats://, tls://, ws://,
	// wss://); at least one. Written as one string or an array of them.
	Servers []string
	// Creds (creds) is a .creds file holding a user JWT and NKey seed;
	// NKeySeed (nkey_seed) a file holding an NKey user seed; User and
	// Password plain credentials. At most one of Creds, NKeySeed and User.
	// The files are not opened at load: a host may get them provisioned
	// after its config.
	Creds, NKeySeed string
	User, Password  string
	// TLSCA, TLSCert and TLSKey (tls_ca, tls_cert, tls_key) are PEM files;
	// a client certificate and its key go together.
	TLSCA, TLSCert, TLSKey string
	// Host is this host's identity on the fleet and one token of every
	// subject it publishes on; default Agent.Host.
	Host string
	// Labels ([fleet.labels]) let selectors such as env=prod,role=edge pick
	// hosts; at most maxLabels.
	Labels map[string]string
	// Prefix starts every subject; default "plugvisor".
	Prefix string
	// Stream is the JetStream stream records go to; default
	// "PLUGVISOR_RECORDS".
	Stream string
	// CreateStream (create_stream, default true) creates a missing stream
	// with the StreamMax* and StreamReplicas settings; false requires it
	// to be provisioned already, and those settings are then unused.
	CreateStream   bool
	StreamMaxAge   time.Duration // default 24h
	StreamMaxBytes Size          // default 1GiB
	StreamReplicas int           // default 1; 1 to 5
	// DuplicateWindow is the stream's window for dropping re-published
	// records by message ID; default 2m.
	DuplicateWindow time.Duration
	// PublishWindow bounds the record bytes published and not yet
	// acknowledged; default 1MiB, 4KiB to 64MiB.
	PublishWindow Size
	// SpoolMemory bounds the records held in memory while no server is
	// reachable (default 16MiB); SpoolFile bounds a file under
	// <work_dir>/fleet/ for what exceeds it (default 0: no file).
	SpoolMemory, SpoolFile Size
	ConnectTimeout         time.Duration // default 5s
	Where                  Pos           // the [fleet] header
}

const (
	maxLabels                          = 32
	maxLabelName, maxLabelValue        = 32, 64
	maxPrefix                          = 64
	maxReplicas                        = 5
	minPublishWindow, maxPublishWindow = 4 * KiB, 64 * MiB
)

// defaultFleet is the [fleet] table before the config file speaks; Host
// is left for finishFleet, as agent.host may still change.
func defaultFleet(where Pos) *Fleet {
	return &Fleet{
		Prefix:          "plugvisor",
		Stream:          "PLUGVISOR_RECORDS",
		CreateStream:    true,
		StreamMaxAge:    24 * time.Hour,
		StreamMaxBytes:  GiB,
		StreamReplicas:  1,
		DuplicateWindow: 2 * time.Minute,
		PublishWindow:   MiB,
		SpoolMemory:     16 * MiB,
		ConnectTimeout:  5 * time.Second,
		Where:           where,
	}
}

// finishFleet derives the defaults that depend on the agent.
func finishFleet(f *Fleet, a *Agent) {
	if f != nil && f.Host == "" {
		f.Host = a.Host
	}
}

// fleetTable decodes the table into *dst, which stays nil when the value
// is no table at all: the fleet link is off without one.
func fleetTable(dst **Fleet) setter {
	return func(d *decoder, k keyPath, v any) {
		f := defaultFleet(d.src.pos(k))
		if d.table(k, v, fleetFields(f)) {
			*dst = f
		}
	}
}

func fleetFields(f *Fleet) map[string]setter {
	return map[string]setter{
		"servers":          servers(&f.Servers),
		"creds":            path(&f.Creds),
		"nkey_seed":        path(&f.NKeySeed),
		"user":             str(&f.User),
		"password":         str(&f.Password),
		"tls_ca":           path(&f.TLSCA),
		"tls_cert":         path(&f.TLSCert),
		"tls_key":          path(&f.TLSKey),
		"host":             nonEmpty(&f.Host),
		"labels":           stringMap(&f.Labels),
		"prefix":           str(&f.Prefix),
		"stream":           str(&f.Stream),
		"create_stream":    boolean(&f.CreateStream),
		"stream_max_age":   duration(&f.StreamMaxAge, false),
		"stream_max_bytes": size(&f.StreamMaxBytes),
		"stream_replicas":  integer(&f.StreamReplicas),
		"duplicate_window": duration(&f.DuplicateWindow, false),
		"publish_window":   size(&f.PublishWindow),
		"spool_memory":     size(&f.SpoolMemory),
		"spool_file":       size(&f.SpoolFile),
		"connect_timeout":  duration(&f.ConnectTimeout, false),
	}
}

// servers accepts one URL as a plain string, the common case of a single
// server, or an array of them.
func servers(dst *[]string) setter {
	list := stringList(dst, nil)
	return func(d *decoder, k keyPath, v any) {
		if s, ok := v.(string); ok {
			*dst = []string{s}
			return
		}
		if _, ok := v.([]any); !ok {
			d.fail(k, "must be a URL string or an array of them, got %s", describe(v))
			return
		}
		list(d, k, v)
	}
}

// nonEmpty is str for a key whose default "" stands for: writing "" would
// silently mean the default instead of what was written.
func nonEmpty(dst *string) setter {
	return func(d *decoder, k keyPath, v any) {
		if s, ok := v.(string); ok && s == "" {
			d.fail(k, "must not be empty (leave it out for the default)")
			return
		}
		str(dst)(d, k, v)
	}
}

// listen decodes agent.metrics_listen into its normal form.
func listen(dst *string) setter {
	return func(d *decoder, k keyPath, v any) {
		s, ok := v.(string)
		if !ok {
			d.fail(k, "must be a string such as \"127.0.0.1:9464\", got %s", describe(v))
			return
		}
		addr, err := NormalizeListen(s)
		if err != nil {
			d.fail(k, "%v", err)
			return
		}
		*dst = addr
	}
}

// NormalizeListen turns a listen address as written into host:port: a
// bare ":port" or "port" means 127.0.0.1:port, since what listens there
// should be reachable from elsewhere only when someone says so. "" stays
// "" (off).
func NormalizeListen(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	addr := s
	if strings.Trim(s, "0123456789") == "" {
		addr = ":" + s
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("invalid address %q: %v (want host:port, \":port\" or a port alone)", s, err)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", fmt.Errorf("invalid address %q: port %q is not a number from 0 to 65535", s, port)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.FormatUint(n, 10)), nil
}

func (v *validator) metricsListen(k keyPath, addr string) {
	norm, err := NormalizeListen(addr)
	switch {
	case err != nil:
		v.fail(k, "%v", err)
	case norm != addr:
		v.fail(k, "must be written as %q", norm)
	}
}

// The spool's bounds.
const (
	minSpool       = 64 * KiB
	maxSpoolMemory = 4 * GiB
)

func (v *validator) fleet(f *Fleet) {
	if f == nil {
		return
	}
	k := keyPath{"fleet"}
	v.servers(k.key("servers"), f.Servers)
	v.auth(k, f)
	v.tls(k, f)
	v.fleetHost(k.key("host"), f.Host)
	v.labels(k.key("labels"), f.Labels)
	if !validPrefix(f.Prefix) {
		v.fail(k.key("prefix"), "invalid prefix %q: every subject starts with it, so it must be dot-separated tokens of letters, digits, '_' or '-', no wildcards, at most %d bytes", f.Prefix, maxPrefix)
	}
	if !validName(f.Stream) {
		v.fail(k.key("stream"), "invalid stream name %q (want 1 to 64 letters, digits, '_' or '-')", f.Stream)
	}
	v.fleetLimits(k, f)
}

// serverSchemes are the URL schemes nats.go dials.
var serverSchemes = []string{"nats", "tls", "ws", "wss"}

func (v *validator) servers(k keyPath, urls []string) {
	if len(urls) == 0 {
		v.fail(k, "required: at least one server URL (nats://, tls://, ws:// or wss://)")
		return
	}
	for i, s := range urls {
		at := k.index(i)
		if len(urls) == 1 && !v.src.has(at) {
			at = k // written as a plain string
		}
		u, err := url.Parse(s)
		switch {
		case err != nil:
			v.fail(at, "invalid server URL %q: %v", s, unwrapURLError(err))
		case !slices.Contains(serverSchemes, u.Scheme):
			v.fail(at, "server URL %q has scheme %q (want nats, tls, ws or wss)", s, u.Scheme)
		case u.Host == "" || u.Hostname() == "":
			v.fail(at, "server URL %q names no host (want e.g. nats://nats.example.com:4222)", s)
		}
	}
}

// unwrapURLError drops url.Error's repetition of the URL, which the
// message quotes already.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func (v *validator) auth(k keyPath, f *Fleet) {
	var set []string
	for _, a := range []struct{ key, v string }{{"creds", f.Creds}, {"nkey_seed", f.NKeySeed}, {"user", f.User}} {
		if a.v != "" {
			set = append(set, a.key)
		}
	}
	if len(set) > 1 {
		// Blame the last written: the first is as likely the one meant.
		v.fail(k.key(set[len(set)-1]), "only one of creds, nkey_seed and user may be set, got %s", strings.Join(set, " and "))
	}
	if f.Password != "" && f.User == "" {
		v.fail(k.key("password"), "requires user: a password alone names nobody")
	}
	v.absPath(k.key("creds"), f.Creds)
	v.absPath(k.key("nkey_seed"), f.NKeySeed)
}

func (v *validator) tls(k keyPath, f *Fleet) {
	switch {
	case f.TLSCert != "" && f.TLSKey == "":
		v.fail(k.key("tls_cert"), "requires tls_key: a client certificate is of no use without its private key")
	case f.TLSKey != "" && f.TLSCert == "":
		v.fail(k.key("tls_key"), "requires tls_cert: a private key is of no use without its client certificate")
	}
	v.absPath(k.key("tls_ca"), f.TLSCA)
	v.absPath(k.key("tls_cert"), f.TLSCert)
	v.absPath(k.key("tls_key"), f.TLSKey)
}

// absPath checks an optional path; files decode absolute already, so this
// catches programmatic configs.
func (v *validator) absPath(k keyPath, p string) {
	if p != "" && !filepath.IsAbs(p) {
		v.fail(k, "must be an absolute path, got %q", p)
	}
}

func (v *validator) fleetHost(k keyPath, host string) {
	if validName(host) {
		return
	}
	if v.src.has(k) {
		v.fail(k, "invalid host %q: it is one token of NATS subjects, so it must be 1 to 64 letters, digits, '_' or '-'", host)
		return
	}
	v.fail(k, "agent.host %q, the default, is no valid NATS subject token (want 1 to 64 letters, digits, '_' or '-'): set fleet.host", host)
}

func (v *validator) labels(k keyPath, labels map[string]string) {
	if len(labels) > maxLabels {
		v.fail(k, "has %d labels, more than the %d allowed", len(labels), maxLabels)
	}
	for _, name := range slices.Sorted(maps.Keys(labels)) {
		if len(name) > maxLabelName || !validName(name) {
			v.fail(k.key(name), "invalid label name (want 1 to %d letters, digits, '_' or '-')", maxLabelName)
		}
		if !validLabelValue(labels[name]) {
			v.fail(k.key(name), "invalid value %q (want 1 to %d letters, digits, or any of _ . : / -; '=' and ',' would break selectors such as env=prod,role=edge)",
				labels[name], maxLabelValue)
		}
	}
}

func (v *validator) fleetLimits(k keyPath, f *Fleet) {
	positive := map[string]time.Duration{
		"stream_max_age":   f.StreamMaxAge,
		"duplicate_window": f.DuplicateWindow,
		"connect_timeout":  f.ConnectTimeout,
	}
	v.positive(k, positive)
	if f.CreateStream && f.DuplicateWindow > f.StreamMaxAge && f.StreamMaxAge > 0 {
		v.fail(k.key("duplicate_window"), "duplicate_window (%s) must not exceed stream_max_age (%s): JetStream refuses to create such a stream",
			f.DuplicateWindow, f.StreamMaxAge)
	}
	for _, s := range []struct {
		key string
		v   Size
	}{{"stream_max_bytes", f.StreamMaxBytes}} {
		if s.v <= 0 {
			v.fail(k.key(s.key), "must be positive, got %s", s.v)
		}
	}
	// The spool takes at most 4GiB in memory, and holds a record's blob
	// whole: what cannot hold one is refused here rather than at start.
	if f.SpoolMemory < minSpool || f.SpoolMemory > maxSpoolMemory {
		v.fail(k.key("spool_memory"), "%s is out of range (want %s to %s)", f.SpoolMemory, minSpool, maxSpoolMemory)
	}
	if f.SpoolFile != 0 && f.SpoolFile < minSpool {
		v.fail(k.key("spool_file"), "%s is out of range (want 0, none, or at least %s)", f.SpoolFile, minSpool)
	}
	if f.PublishWindow < minPublishWindow || f.PublishWindow > maxPublishWindow {
		v.fail(k.key("publish_window"), "%s is out of range (want %s to %s)", f.PublishWindow, minPublishWindow, maxPublishWindow)
	}
	if f.StreamReplicas < 1 || f.StreamReplicas > maxReplicas {
		v.fail(k.key("stream_replicas"), "must be between 1 and %d, got %d", maxReplicas, f.StreamReplicas)
	}
}

// validPrefix says whether s is dot-separated subject tokens, without the
// wildcards '*' and '>' that would make every publish a pattern.
func validPrefix(s string) bool {
	if len(s) > maxPrefix {
		return false
	}
	for tok := range strings.SplitSeq(s, ".") {
		if !validName(tok) {
			return false
		}
	}
	return true
}

func validLabelValue(s string) bool {
	if len(s) < 1 || len(s) > maxLabelValue {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !isWordByte(c) && !strings.ContainsRune("-.:/", rune(c)) {
			return false
		}
	}
	return true
}
