package main

import (
	"errors"
	"strings"

	"postern/pkg/config"
	"postern/pkg/maillog"
	"postern/pkg/resolve"
	"postern/pkg/rewrite"
	"postern/pkg/table"
)

// Address classes of *_canonical_classes.
const (
	classEnvSender = 1 << iota
	classEnvRcpt
	classHdrSender
	classHdrRcpt
)

func parseClasses(list []string) int {
	m := 0
	for _, c := range list {
		switch strings.ToLower(c) {
		case "envelope_sender":
			m |= classEnvSender
		case "envelope_recipient":
			m |= classEnvRcpt
		case "header_sender":
			m |= classHdrSender
		case "header_recipient":
			m |= classHdrRcpt
		}
	}
	return m
}

// canonMap is one canonical table list with the classes it applies to.
type canonMap struct {
	title   string
	f       *rewrite.Finder
	classes int
}

// rewriter holds cleanup's address rewriting: trivial-rewrite's canonical form and its
// notion of a local domain (pkg/resolve), the canonical tables and virtual alias
// expansion. Tables are opened once; pkg/table notices a rebuilt table by itself.
type rewriter struct {
	res         *resolve.Resolver
	canon       *resolve.Canon
	senderMaps  []canonMap // sender_canonical_maps, canonical_maps
	rcptMaps    []canonMap // recipient_canonical_maps, canonical_maps
	virtual     *rewrite.Finder
	limits      rewrite.Limits
	propCanon   bool
	propVirtual bool
}

// newRewriter opens the tables named in main.cf. A table type we lack is skipped with a
// warning; a table whose file is missing stays in the list and fails its lookups, so mail
// is deferred until it is built.
func newRewriter(cfg *config.Config, log *maillog.Logger) (*rewriter, error) {
	opts := &table.Options{Warnf: func(f string, a ...any) { log.Warn(f, a...) }}
	res, err := resolve.New(cfg, opts)
	if err != nil {
		return nil, err
	}
	rw := &rewriter{
		res:   res,
		canon: res.Canon(),
		limits: rewrite.Limits{
			Recursion:     int(cfg.Int("virtual_alias_recursion_limit")),
			Expansion:     int(cfg.Int("virtual_alias_expansion_limit")),
			AddressLength: int(cfg.Int("virtual_alias_address_length_limit")),
		},
	}
	for _, p := range cfg.List("propagate_unmatched_extensions") {
		switch strings.ToLower(p) {
		case "canonical":
			rw.propCanon = true
		case "virtual":
			rw.propVirtual = true
		}
	}
	open := func(param string) (*rewrite.Finder, error) {
		specs := cfg.List(param)
		if len(specs) == 0 {
			return nil, nil
		}
		l, err := table.OpenList(specs, opts)
		if err != nil {
			return nil, errors.New(param + ": " + err.Error())
		}
		if l.Len() == 0 {
			return nil, nil
		}
		return &rewrite.Finder{Maps: l, Delimiter: cfg.Get("recipient_delimiter"),
			MyOrigin: rw.canon.MyOrigin, IsLocal: res.IsLocal, Canon: rw.canon,
			DoubleBounce: cfg.Get("double_bounce_sender")}, nil
	}
	add := func(list *[]canonMap, param, classParam string) {
		if err != nil {
			return
		}
		var f *rewrite.Finder
		if f, err = open(param); f != nil {
			*list = append(*list, canonMap{param, f, parseClasses(cfg.List(classParam))})
		}
	}
	add(&rw.senderMaps, "sender_canonical_maps", "sender_canonical_classes")
	add(&rw.rcptMaps, "recipient_canonical_maps", "recipient_canonical_classes")
	var common []canonMap
	add(&common, "canonical_maps", "canonical_classes")
	if err != nil {
		return nil, err
	}
	rw.senderMaps = append(rw.senderMaps, common...)
	rw.rcptMaps = append(rw.rcptMaps, common...)
	if rw.virtual, err = open("virtual_alias_maps"); err != nil {
		return nil, err
	}
	return rw, nil
}

// canonical maps a through the lists that apply to class, in order, as cleanup_map11.
// Failures set c.errs and leave the address as it was at that point.
func (c *conn) canonical(a string, maps []canonMap, class int) string {
	if a == "" || c.errs != 0 {
		return a
	}
	rw := c.s.rw
	for _, m := range maps {
		if m.classes&class == 0 {
			continue
		}
		res, multi, nested, err := m.f.Map11(a, rw.propCanon)
		if err != nil {
			c.s.log.Warn("%s: %v", c.id, err)
			c.s.log.Warn("%s: %s map lookup problem for %s -- message not accepted, try again later", c.id, m.title, a)
			c.errs |= errWrite
			return a
		}
		if multi {
			c.s.log.Warn("%s: multi-valued %s entry for %s", c.id, m.title, a)
		}
		if nested {
			c.s.log.Warn("%s: unreasonable %s map nesting for %s -- message not accepted, try again later", c.id, m.title, a)
			c.errs |= errDefer
			return a
		}
		a = res
	}
	return a
}

// sender is the envelope sender's rewriting: canonical form, then sender_canonical_maps
// and canonical_maps.
func (c *conn) rewriteSender(a string) string {
	return c.canonical(c.s.rw.canon.Address(a), c.s.rw.senderMaps, classEnvSender)
}

// rewriteRecipient is one envelope recipient's: canonical form, recipient_canonical_maps,
// canonical_maps, then virtual alias expansion into one or more addresses.
func (c *conn) rewriteRecipient(a string) []string {
	rw := c.s.rw
	a = c.canonical(rw.canon.Address(a), rw.rcptMaps, classEnvRcpt)
	if rw.virtual == nil || c.errs != 0 {
		return []string{a}
	}
	list, err := rw.virtual.Expand(a, "virtual_alias_maps", rw.propVirtual, rw.limits)
	if err != nil {
		var le *rewrite.LookupError
		if errors.As(err, &le) {
			c.s.log.Warn("%s: %v", c.id, le.Err)
			c.errs |= errWrite
		} else {
			c.errs |= errDefer
		}
		c.s.log.Warn("%s: %v -- message not accepted, try again later", c.id, err)
	}
	return list
}

// rewriteHeaderAddr is one address of a simple address header in local context:
// canonical form, then the canonical tables of the header's class.
func (c *conn) rewriteHeaderAddr(a string, class int) string {
	rw := c.s.rw
	a = rw.canon.Address(a)
	if class == classHdrSender {
		return c.canonical(a, rw.senderMaps, class)
	}
	return c.canonical(a, rw.rcptMaps, class)
}
