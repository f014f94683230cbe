package registry

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
)

// account decodes a user or group key: a name, or a numeric id written as
// an integer or a string.
func account(dst *string) setter {
	return func(d *decoder, k keyPath, v any) {
		switch x := v.(type) {
		case string:
			if x == "" {
				d.fail(k, "must not be empty")
				return
			}
			*dst = x
		case int64:
			if x < 0 {
				d.fail(k, "must not be negative, got %d", x)
				return
			}
			*dst = strconv.FormatInt(x, 10)
		default:
			d.fail(k, "must be a name or a numeric id, got %s", describe(v))
		}
	}
}

// ids are a resolved user and group; -1 keeps the supervisor's own.
type ids struct{ uid, gid int }

// accounts resolves user and group keys with os/user, reporting each name
// that cannot be resolved at the key that wrote it.
type accounts struct {
	src  sourceMap
	errs *Errors
}

func (r *accounts) fail(k keyPath, format string, args ...any) {
	r.errs.add(r.src.pos(k), k.String(), format, args...)
}

// resolve returns the ids of the user and group keys under k; an unset
// group under a user is the user's primary group.
func (r *accounts) resolve(k keyPath, userName, group string) ids {
	id := r.user(k.key("user"), userName)
	if group != "" {
		id.gid = r.group(k.key("group"), group)
	}
	return id
}

// plugin resolves p's own keys; what it did not write is the agent's, which
// is resolved (and any problem reported) once, at the agent.
func (r *accounts) plugin(p *Plugin, agent ids) ids {
	id := agent
	k := keyPath{"plugins", p.Name}
	if p.owns("user") {
		id = r.user(k.key("user"), p.User)
	}
	if p.owns("group") {
		id.gid = r.group(k.key("group"), p.Group)
	}
	return id
}

// noAccount, as a user or group, turns the agent's default off: the plugin
// runs as plugvisor's own user or group. (A user named "none" is not one
// a configuration can name.)
const noAccount = "none"

func (r *accounts) user(k keyPath, name string) ids {
	if name == "" || name == noAccount {
		return ids{-1, -1} // "" is a key that failed to decode, reported already
	}
	var u *user.User
	var err error
	if isID(name) {
		u, err = user.LookupId(name)
	} else {
		u, err = user.Lookup(name)
	}
	if err != nil {
		r.fail(k, "%s", lookupProblem("user", name, err))
		return ids{-1, -1}
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		r.fail(k, "user %q has uid %q and primary gid %q, which are not numbers", name, u.Uid, u.Gid)
		return ids{-1, -1}
	}
	return ids{uid, gid}
}

func (r *accounts) group(k keyPath, name string) int {
	if name == "" || name == noAccount {
		return -1
	}
	var g *user.Group
	var err error
	if isID(name) {
		g, err = user.LookupGroupId(name)
	} else {
		g, err = user.LookupGroup(name)
	}
	if err != nil {
		r.fail(k, "%s", lookupProblem("group", name, err))
		return -1
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		r.fail(k, "group %q has gid %q, which is not a number", name, g.Gid)
		return -1
	}
	return gid
}

// isID tells a numeric id from a name, as chown(1) does.
func isID(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// lookupProblem says "unknown user" for what the system does not know, and
// passes on anything else (an unreachable directory service, say).
func lookupProblem(kind, name string, err error) string {
	var (
		uName user.UnknownUserError
		uID   user.UnknownUserIdError
		gName user.UnknownGroupError
		gID   user.UnknownGroupIdError
	)
	switch {
	case errors.As(err, &uID), errors.As(err, &gID):
		return fmt.Sprintf("unknown %s id %s", kind, name)
	case errors.As(err, &uName), errors.As(err, &gName):
		return fmt.Sprintf("unknown %s %q", kind, name)
	}
	return fmt.Sprintf("cannot look up %s %q: %v", kind, name, err)
}
