package main

import (
	"strings"

	"postern/pkg/aliases"
	"postern/pkg/config"
	"postern/pkg/dsn"
	"postern/pkg/passwd"
	"postern/pkg/printable"
	"postern/pkg/resolve"
	"postern/pkg/table"
)

// Expansion kinds, for allow_mail_to_commands and allow_mail_to_files.
const (
	expAlias   = 1 << iota // an alias_maps value
	expForward             // a .forward file
	expInclude             // an :include: file
)

// maxExpansion bounds the destinations one delivery request may expand
// to (aliases, .forward and :include: lists together), the same figure as
// virtual_alias_expansion_limit: a list past it is bounced whole rather
// than delivered to an arbitrary part.
const maxExpansion = 1000

// maxAliasDepth is local(8)'s nesting limit for aliases.
const maxAliasDepth = 100

// expandConfig is what alias and .forward expansion read from main.cf.
type expandConfig struct {
	aliasMaps      *table.List
	aliasErr       error             // alias_maps could not be opened: every lookup fails
	res            *resolve.Resolver // nil: it could not be set up, addresses are deferred
	canon          *resolve.Canon
	myhostname     string
	mailName       string
	forwardPath    []string // forward_path, unexpanded
	forwardFilter  string   // forward_expansion_filter
	expandOwner    bool     // expand_owner_alias
	ownerSpecial   bool     // owner_request_special
	frozen         bool     // frozen_delivered_to
	fwdDelivered   bool     // prepend_delivered_header has "forward"
	cmdMask        int      // allow_mail_to_commands
	fileMask       int      // allow_mail_to_files
	lineLimit      int
	cleanupService string // public/cleanup socket
	maxItems       int
	luserRelay     string // luser_relay, unexpanded
	propAlias      bool   // propagate_unmatched_extensions has "alias"
	propForward    bool   // propagate_unmatched_extensions has "forward"

	// post resubmits a message through cleanup (resubmit.go); tests replace it.
	post func(x *expansion, g *fwdGroup) (string, error)
}

func expansionMask(words []string) int {
	m := 0
	for _, w := range words {
		switch strings.ToLower(w) {
		case "alias":
			m |= expAlias
		case "forward":
			m |= expForward
		case "include":
			m |= expInclude
		}
	}
	return m
}

// initExpansion opens alias_maps once, at start, and wires the alias and
// .forward hooks of deliver().
func (s *server) initExpansion(c *config.Config) {
	xc := &expandConfig{
		canon:          resolve.NewCanon(c),
		myhostname:     c.Get("myhostname"),
		mailName:       c.Get("mail_name"),
		forwardFilter:  c.Get("forward_expansion_filter"),
		expandOwner:    c.Bool("expand_owner_alias"),
		ownerSpecial:   c.Bool("owner_request_special"),
		frozen:         c.Bool("frozen_delivered_to"),
		cmdMask:        expansionMask(c.List("allow_mail_to_commands")),
		fileMask:       expansionMask(c.List("allow_mail_to_files")),
		lineLimit:      int(max(c.Int("line_length_limit"), 80)),
		cleanupService: s.queue.Socket("public", "cleanup"),
		maxItems:       maxExpansion,
		post:           postForward,
	}
	if xc.mailName == "" {
		xc.mailName = "Postfix"
	}
	// forward_path is expanded per recipient with local(8)'s own names, not
	// main.cf's.
	if v, ok := c.RawOrDefault("forward_path"); ok {
		xc.forwardPath = strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(", \t\r\n", r) })
	}
	for _, w := range c.List("prepend_delivered_header") {
		if strings.EqualFold(w, "forward") {
			xc.fwdDelivered = true
		}
	}
	// luser_relay, like forward_path, gets local(8)'s names ($user,
	// $extension, ...), not main.cf's.
	if v, ok := c.RawOrDefault("luser_relay"); ok {
		xc.luserRelay = strings.TrimSpace(v)
	}
	for _, w := range c.List("propagate_unmatched_extensions") {
		switch strings.ToLower(w) {
		case "alias":
			xc.propAlias = true
		case "forward":
			xc.propForward = true
		}
	}
	var err error
	if xc.res, err = resolve.New(c, &table.Options{Warnf: s.log.Warn}); err != nil {
		s.log.Warn("%v", err)
	} else {
		xc.canon = xc.res.Canon()
	}
	xc.aliasMaps, xc.aliasErr = table.OpenList(c.List("alias_maps"), &table.Options{NoRegsub: true, Warnf: s.log.Warn})
	if xc.aliasErr != nil {
		s.log.Warn("alias_maps: %v", xc.aliasErr)
	}
	s.xc = xc
	s.aliases = s.aliasHook
	s.dotforward = s.forwardHook
}

// aliasHook is deliver()'s alias step for the recipient of a request.
func (s *server) aliasHook(rc *rcpt) (dsn.Status, bool) {
	x := s.newExpansion(rc.req)
	if !x.alias(rc, x.top()) {
		return dsn.Status{}, false
	}
	return x.finish(), true
}

// forwardHook is deliver()'s .forward step for the recipient of a request.
func (s *server) forwardHook(rc *rcpt, u *account) (dsn.Status, bool) {
	x := s.newExpansion(rc.req)
	if !x.dotforward(rc, u, x.top()) {
		return dsn.Status{}, false
	}
	return x.finish(), true
}

// alias is deliver_alias(): look up the full local part, then the bare
// user, and deliver to each destination of the value. It reports whether
// an alias applied (then every outcome has been recorded).
func (x *expansion) alias(rc *rcpt, st state) bool {
	names := []string{rc.Local}
	if rc.Ext != "" && rc.User != rc.Local {
		names = append(names, rc.User)
	}
	xc := x.s.xc
	for i, name := range names {
		// user+foo found only as user: its destinations get +foo when
		// propagate_unmatched_extensions has "alias".
		st.unmatched = ""
		if i > 0 && xc.propAlias {
			st.unmatched = rc.Ext
		}
		// An alias that lists itself means the user of that name.
		if st.expFrom != "" && strings.EqualFold(st.expFrom, name) {
			continue
		}
		if st.level > maxAliasDepth {
			x.s.log.Warn("alias database loop for %s", printable.Except(name, '_', "\t"))
			x.record(rc.Addr, st, dsn.Bounce("5.4.6", "alias database loop for %s", name))
			return true
		}
		if xc.aliasErr != nil {
			x.record(rc.Addr, st, dsn.Defer("4.3.0", "table lookup failure"))
			return true
		}
		value, idx, found, err := xc.aliasMaps.Find(name)
		if err != nil {
			x.s.log.Warn("%s: %v", x.r.QueueID, err)
			x.record(rc.Addr, st, dsn.Defer("4.3.0", "table lookup failure"))
			return true
		}
		if !found {
			continue
		}
		st.expFrom, st.expType = name, expAlias

		// Commands and files run as the table's owner, or as
		// default_privs when root owns it (priv nil).
		st.priv = nil
		if o, ok := xc.aliasMaps.Tables[idx].(table.Owned); ok {
			uid, _, err := o.Owner()
			if err != nil {
				x.s.log.Warn("%s: cannot find the owner of %s: %v", x.r.QueueID, xc.aliasMaps.Specs[idx], err)
				x.record(rc.Addr, st, dsn.Defer("4.3.0", "cannot find alias database owner"))
				return true
			}
			if uid != 0 {
				u, err := passwd.LookupUID(uid)
				if err != nil {
					x.s.log.Warn("cannot find alias database owner for %s", xc.aliasMaps.Specs[idx])
					x.record(rc.Addr, st, dsn.Defer("4.3.0", "cannot find alias database owner"))
					return true
				}
				st.priv = u
			}
		}

		// owner-NAME: list mail gets that envelope sender, and its local
		// destinations are resubmitted so bounces go to the owner.
		var ownerValue string
		var hasOwner bool
		if xc.ownerSpecial {
			ownerValue, hasOwner, err = aliases.Owner(xc.aliasMaps, name)
		}
		if err != nil {
			x.s.log.Warn("%s: %v", x.r.QueueID, err)
			x.record(rc.Addr, st, dsn.Defer("4.3.0", "table lookup failure"))
			return true
		}
		if hasOwner {
			o := "owner-" + name
			if xc.expandOwner {
				if items, _ := aliases.ParseItems(ownerValue); len(items) == 1 && items[0].Kind == aliases.Address {
					o = items[0].Value
				}
			}
			o = xc.canon.Address(o)
			st.owner, st.sender, st.list = o, o, true
		} else {
			st.owner = ""
		}
		if !xc.frozen {
			st.delivered = rc.Addr
		}

		items, perr := aliases.ParseItems(value)
		if perr != nil {
			x.s.log.Warn("%s: alias %s: %v", x.r.QueueID, printable.Except(name, '_', "\t"), perr)
		}
		if len(items) == 0 {
			x.s.log.Warn("no recipient in alias lookup result for %s", printable.Except(name, '_', "\t"))
			x.record(rc.Addr, st, dsn.Defer("4.3.0", "alias database unavailable"))
			return true
		}
		x.list(rc, items, st, "alias "+name)
		return true
	}
	return false
}
