package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"postern/pkg/cleanup"
	"postern/pkg/queue"
)

// messageAttrs are the A records a client may hand in; everything else is dropped, so a
// client cannot plant attributes that later programs trust (create_time, for one, is ours).
var messageAttrs = map[string]bool{
	"rewrite_context": true, "encoding": true, "envelope_id": true, "ret_flags": true,
	"trace_flags": true, "log_ident": true, "log_message_origin": true,
	"log_client_name": true, "log_client_address": true, "log_client_port": true,
	"log_helo_name": true, "log_protocol_name": true,
	"client_name": true, "reverse_client_name": true, "client_address": true,
	"client_port": true, "client_address_type": true, "server_address": true,
	"server_port": true, "helo_name": true, "protocol_name": true,
	"sasl_method": true, "sasl_username": true, "sasl_sender": true,
}

type attr struct{ name, value string }

type rcpt struct {
	orig, addr, notify, dsnOrig string
}

type dupKey struct{ dsnOrig, notify, orig, addr string }

// envelope collects what precedes M. It is kept in memory (bounded) because the file wants
// a fixed order (T, A create_time, attributes, F, S, recipients) whatever order the client
// used.
type envelope struct {
	arrival   time.Time
	haveTime  bool
	attrs     []attr
	nattrs    int
	fullName  string
	haveFull  bool
	sender    string
	haveSndr  bool
	rcpts     []rcpt
	bytes     int
	nrcpt     int // recipients written, envelope and extracted
	pend      rcpt
	seen      map[dupKey]struct{}
	localHdrs bool // rewrite_context=local
}

// envRecord takes one record before M. It returns false for a protocol violation.
func (c *conn) envRecord(typ byte, data []byte) bool {
	e := &c.env
	e.bytes += len(data) + 8
	if e.bytes > c.s.envLimit {
		c.errs |= errSize
	}
	switch typ {
	case queue.RecTime:
		if !e.haveTime { // the first one wins, as in Postfix
			if t, ok := queue.ParseTime(data); ok {
				e.arrival, e.haveTime = t, true
			}
		}
	case queue.RecAttr:
		return c.attrRecord(data, false)
	case queue.RecFullName:
		if !e.haveFull {
			e.fullName, e.haveFull = string(data), true
		}
	case queue.RecSender:
		if e.haveSndr {
			c.s.log.Warn("%s: message rejected: multiple envelope sender records", c.id)
			return false
		}
		e.sender, e.haveSndr = c.rewriteSender(string(data)), true
	case queue.RecOrig:
		e.pend.orig = string(data)
	case queue.RecRcpt:
		if rs := c.recipients(data); c.errs == 0 {
			e.rcpts = append(e.rcpts, rs...)
		}
	default:
		c.s.log.Warn("%s: message rejected: unexpected record type %q in envelope", c.id, typ)
		return false
	}
	return true
}

// attrRecord takes an A record; extracted says it follows X, where only the per-recipient
// attributes mean anything.
func (c *conn) attrRecord(data []byte, extracted bool) bool {
	e := &c.env
	name, value, ok := strings.Cut(string(data), "=")
	if !ok || name == "" {
		c.s.log.Warn("%s: message rejected: bad attribute record", c.id)
		return false
	}
	switch {
	case name == cleanup.AttrNotify:
		e.pend.notify = value
	case name == cleanup.AttrDSNOrig:
		e.pend.dsnOrig = value
	case extracted:
	default:
		e.nattrs++
		if e.nattrs > c.s.attrLimit {
			c.s.log.Warn("%s: message rejected: attribute count exceeds limit %d", c.id, c.s.attrLimit)
			return false
		}
		if !messageAttrs[name] || c.errs != 0 {
			return true
		}
		if name == "rewrite_context" {
			e.localHdrs = value == "local"
		}
		for i := range e.attrs { // a repeated name replaces the earlier value
			if e.attrs[i].name == name {
				e.attrs[i].value = value
				return true
			}
		}
		e.attrs = append(e.attrs, attr{name, value})
	}
	return true
}

// recipients completes the pending O/attributes with an R: canonical form, canonical
// tables, virtual alias expansion, then duplicate elimination. Every address of an
// expansion keeps the original recipient (O) as received. Duplicates are left out.
func (c *conn) recipients(data []byte) []rcpt {
	e := &c.env
	r := e.pend
	e.pend = rcpt{}
	final := string(data)
	if r.orig == "" {
		r.orig = final
	}
	if final == "" { // as trivial-rewrite: an empty recipient is the postmaster alias
		final = c.s.emptyRcpt
	}
	var out []rcpt
	for _, a := range c.rewriteRecipient(final) {
		r.addr = a
		k := dupKey{r.dsnOrig, r.notify, strings.ToLower(r.orig), strings.ToLower(r.addr)}
		if _, dup := e.seen[k]; dup {
			continue
		}
		// Like Postfix's been_here table: past the limit new keys are not remembered, so
		// later duplicates of them pass.
		if len(e.seen) < c.s.dupLimit {
			if e.seen == nil {
				e.seen = make(map[dupKey]struct{})
			}
			e.seen[k] = struct{}{}
		}
		out = append(out, r)
	}
	return out
}

// writeRecipient stores one recipient with its attributes.
func (c *conn) writeRecipient(r rcpt) {
	if r.notify != "" {
		c.out.recString(queue.RecAttr, cleanup.AttrNotify+"="+r.notify)
	}
	if r.dsnOrig != "" {
		c.out.recString(queue.RecAttr, cleanup.AttrDSNOrig+"="+r.dsnOrig)
	}
	c.out.recString(queue.RecOrig, r.orig)
	c.out.recString(queue.RecRcpt, r.addr)
	c.env.nrcpt++
}

// writeEnvelope writes everything up to and including M, at the first content record.
func (c *conn) writeEnvelope() {
	e := &c.env
	o := &c.out
	o.begin()
	arr := e.arrival
	if !e.haveTime {
		arr = c.created
		e.arrival = arr
	}
	o.recString(queue.RecTime, queue.FormatTime(arr))
	o.recString(queue.RecAttr, "create_time="+strconv.FormatInt(c.created.Unix(), 10))
	for _, a := range e.attrs {
		o.recString(queue.RecAttr, a.name+"="+a.value)
	}
	if e.haveFull {
		o.recString(queue.RecFullName, e.fullName)
	}
	o.recString(queue.RecSender, e.sender)
	if c.s.warnDelay > 0 && e.sender != "" {
		// The W record holds when qmgr should send the one "delayed mail" notice; fixed width,
		// so qmgr can overwrite it with -1 in place once the notice is out (as Postfix).
		o.recString(queue.RecWarn, fmt.Sprintf("%15d", arr.Add(c.s.warnDelay).Unix()))
	}
	for _, r := range e.rcpts {
		c.writeRecipient(r)
	}
	e.rcpts = nil
	o.startContent()
}
