package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"postern/pkg/aliases"
	"postern/pkg/dsn"
	"postern/pkg/passwd"
	"postern/pkg/printable"
	"postern/pkg/resolve"
)

// expansion is one delivery request's alias, .forward and :include:
// expansion (local(8)'s recursion through deliver_recipient). One request
// names one recipient; its destinations are delivered in this attempt,
// each logged on its own line (to=<destination>, orig_to=<recipient>),
// and the request gets one combined status (finish).
type expansion struct {
	s     *server
	r     *request
	qf    *os.File
	dup   map[string]bool // been_here: destinations already handled
	items int             // destinations expanded so far (maxExpansion)
	out   []*outcome      // outcome of every destination, in order
	nlog  int             // out[:nlog] are logged
	slots chan struct{}   // mailbox deliveries in flight (maxParallel)
	fwd   []*fwdGroup     // resubmissions, one new message per group
}

// state is what passes down the recursion by value: Postfix's msg_attr
// and usr_attr fields that alias, .forward and :include: change.
type state struct {
	level     int
	expFrom   string   // the alias or user whose expansion this is
	expType   int      // expAlias, expForward, expInclude; 0 at the top
	owner     string   // set: local destinations are resubmitted
	list      bool     // the sender was replaced by an owner- alias
	sender    string   // envelope sender
	orig      string   // original recipient, for logs and resubmission
	delivered string   // the Delivered-To value
	priv      *account // rights for commands and files; nil = root (default_privs)

	// unmatched is the address extension that the destinations of this
	// expansion get (propagate_unmatched_extensions): set when user+foo
	// matched an alias only as user, or a .forward named without
	// $extension, and the class is listed.
	unmatched string

	// luser is set below a luser_relay step: an unknown user there
	// bounces instead of being relayed again.
	luser bool
}

func (s *server) newExpansion(r *request) *expansion {
	return &expansion{s: s, r: r, qf: r.qf}
}

// top is the state of the request's own recipient.
func (x *expansion) top() state {
	orig := x.r.Orig
	if orig == "" {
		orig = x.r.Recipient
	}
	return state{sender: x.r.Sender, orig: orig, delivered: x.r.Recipient}
}

// been is Postfix's been_here(): true when key was seen before. The filter
// is bounded with the expansion, so it needs no limit of its own.
func (x *expansion) been(key string) bool {
	if x.dup[key] {
		return true
	}
	if x.dup == nil {
		x.dup = map[string]bool{}
	}
	x.dup[key] = true
	return false
}

// outcome is one destination's status; done is closed when a mailbox
// delivery running concurrently (mailbox) has set it.
type outcome struct {
	to, orig string
	status   dsn.Status
	at       time.Time
	done     chan struct{}
}

// maxParallel bounds the mailbox deliveries of one expansion in flight:
// an alias of many users fills one group commit (pkg/maildir.Committer)
// instead of paying a flush per user, one after another.
const maxParallel = 32

// record logs the outcome of one destination and keeps it for finish.
func (x *expansion) record(to string, st state, status dsn.Status) {
	x.out = append(x.out, &outcome{to: to, orig: st.orig, status: status, at: x.s.now()})
	x.flush(false)
}

// flush logs the outcomes in expansion order, as far as they are known
// (all of them, waiting, with wait).
func (x *expansion) flush(wait bool) {
	for ; x.nlog < len(x.out); x.nlog++ {
		o := x.out[x.nlog]
		if o.done != nil {
			if !wait {
				select {
				case <-o.done:
				default:
					return
				}
			}
			<-o.done
		}
		if x.s.cfg.softBounce {
			o.status = o.status.SoftBounce()
		}
		r := *x.r
		r.Recipient, r.Orig = o.to, o.orig
		logDelivery(x.s.log, &r, x.r.start, o.at, o.status)
	}
}

// finish sends what is to be resubmitted, then returns the request's
// status: deferred when any destination was deferred (the request is
// tried again, as Postfix's local returns), else bounced when any
// bounced, else sent. Each destination has logged its own line.
func (x *expansion) finish() dsn.Status {
	x.sendForwards()
	x.flush(true)
	x.r.logged = true
	var soft, hard, ok *dsn.Status
	for _, o := range x.out {
		st := &o.status
		switch st.Class() {
		case '4':
			if soft == nil {
				soft = st
			}
		case '5':
			if hard == nil {
				hard = st
			}
		default:
			if ok == nil {
				ok = st
			}
		}
	}
	switch {
	case soft != nil:
		return *soft
	case hard != nil:
		return *hard
	case ok != nil:
		return *ok
	}
	// Every destination was a duplicate of one already handled.
	return dsn.Sent("2.0.0", "delivered")
}

// list delivers to the destinations of one alias value, .forward or
// :include: file, within the expansion limit.
func (x *expansion) list(rc *rcpt, items []aliases.Item, st state, what string) {
	if x.items+len(items) > x.s.xc.maxItems {
		x.s.log.Warn("%s: %s: expansion to more than %d destinations", x.r.QueueID, printable.Except(what, '_', "\t"), x.s.xc.maxItems)
		x.record(rc.Addr, st, dsn.Bounce("5.2.4", "too many destinations in the expansion of %s (limit %d)", rc.Addr, x.s.xc.maxItems))
		return
	}
	x.items += len(items)
	for _, it := range items {
		x.token(rc, it, st)
	}
}

// token delivers to one destination found in the expansion of rc.
func (x *expansion) token(rc *rcpt, it aliases.Item, st state) {
	switch it.Kind {
	case aliases.Command:
		if x.s.xc.cmdMask&st.expType == 0 {
			x.record(rc.Addr, st, dsn.Bounce("5.7.1", "mail to command is restricted"))
			return
		}
		x.command(rc, it.Value, st)
	case aliases.File:
		if x.s.xc.fileMask&st.expType == 0 {
			x.record(rc.Addr, st, dsn.Bounce("5.7.1", "mail to file is restricted"))
			return
		}
		x.file(rc, it.Value, st)
	case aliases.Include:
		x.include(rc, it.Value, st)
	default:
		x.address(it.Value, it.NoAlias, st)
	}
}

// address is deliver_resolve_addr(): a destination that pkg/resolve puts in
// the local class is delivered in this attempt (as the address it resolves to,
// so user%dom@here is user@dom); anything else is resubmitted.
func (x *expansion) address(a string, noAlias bool, st state) {
	a = x.s.xc.canon.Address(a)
	if st.unmatched != "" && x.s.cfg.recipientDelim != "" {
		a = spliceExtension(a, x.s.cfg.recipientDelim[:1], st.unmatched)
	}
	if len(a) > maxAddress {
		x.record(printable.Except(a[:100], '_', "\t")+"...", st, dsn.Bounce("5.1.3", "address too long"))
		return
	}
	if x.s.xc.res == nil {
		x.record(a, st, dsn.Defer("4.3.0", "address resolver failure"))
		return
	}
	res := x.s.xc.res.Resolve(a)
	if res.Err != nil {
		x.s.log.Warn("%v", res.Err)
		x.record(a, st, dsn.Defer("4.3.0", "address resolver failure"))
		return
	}
	if res.Class != resolve.Local {
		x.forward(a, st)
		return
	}
	x.recipient(res.Recipient, noAlias, st)
}

// recipient is deliver_recipient() for a destination in a local domain.
func (x *expansion) recipient(a string, noAlias bool, st state) {
	st.level++
	if x.been(fmt.Sprintf("recipient %d %s", st.level, strings.ToLower(a))) {
		return
	}
	if x.r.loop[strings.ToLower(a)] {
		x.record(a, st, dsn.Bounce("5.4.6", "mail forwarding loop for %s", a))
		return
	}
	req := *x.r
	req.Recipient = a
	rc := x.s.resolve(&req)
	rc.req = x.r
	rc.Delivered = st.delivered
	if rc.User == "" {
		x.record(a, st, dsn.Bounce("5.1.3", "null username in \"%s\"", a))
		return
	}
	x.deliverSwitch(rc, noAlias, st)
}

// deliverSwitch is local(8)'s deliver_switch(): \user, aliases,
// resubmission, .forward, mailbox.
func (x *expansion) deliverSwitch(rc *rcpt, noAlias bool, st state) {
	if !noAlias {
		if x.alias(rc, st) {
			return
		}
		// Mail aliased or forwarded to another local user under an owner
		// (an owner- alias, a .forward, an :include: file) gets its own
		// queue file, so its status and bounces are its own.
		if st.owner != "" && !strings.EqualFold(st.owner, rc.User) || st.expType == expInclude {
			x.forward(rc.Addr, st)
			return
		}
	}
	u, err := lookupUser(rc.User)
	switch {
	case errors.Is(err, passwd.ErrNotFound):
		x.unknown(rc, st)
		return
	case err != nil:
		x.s.log.Warn("%s: user lookup %s: %v", x.r.QueueID, rc.User, err)
		x.record(rc.Addr, st, dsn.Defer("4.0.0", "user lookup error"))
		return
	}
	if !noAlias && x.dotforward(rc, u, st) {
		return
	}
	x.mailbox(rc, u, st)
}

// mailbox delivers to the user's own mailbox, once per request. The
// mailboxes of one expansion are written concurrently (at most
// maxParallel at once): each is a different user's, so they share
// nothing but the queue file, read with pread. Their lines are logged in
// expansion order, and finish waits for all of them.
func (x *expansion) mailbox(rc *rcpt, u *account, st state) {
	if x.been("mailbox " + u.Name) {
		return
	}
	o := &outcome{to: rc.Addr, orig: st.orig, done: make(chan struct{})}
	x.out = append(x.out, o)
	if x.slots == nil {
		x.slots = make(chan struct{}, maxParallel)
	}
	x.slots <- struct{}{}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				x.s.log.Error("%s: internal error delivering to %s: %v", x.r.QueueID, printable.Except(printable.Trunc(rc.Addr, 100), '_', "\t"), p)
				o.status = dsn.Defer("4.3.0", "internal error")
			}
			o.at = x.s.now()
			<-x.slots
			close(o.done)
		}()
		o.status = x.s.mailbox(rc, u, x.qf)
	}()
}

// spliceExtension inserts delim+ext before the last "@" of a (or appends
// it to a bare name), as Postfix's deliver_resolve_tree: the first
// character of recipient_delimiter, whatever the original address used.
func spliceExtension(a, delim, ext string) string {
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		return a[:i] + delim + ext + a[i:]
	}
	return a + delim + ext
}
