package main

import (
	"strings"

	"postern/pkg/config"
	"postern/pkg/printable"
)

// unknown is local(8)'s deliver_unknown for a recipient that is neither
// an alias nor an account. With luser_relay set, the mail goes to its
// expansion instead of bouncing, postmaster and mailer-daemon included (as
// Postfix: the relay comes before their discard rule): a local result is
// delivered in this attempt through its aliases, .forward and mailbox, a
// remote one is resubmitted, each logged as to=<TARGET>,
// orig_to=<RECIPIENT>. Without it, s.unknown decides.
func (x *expansion) unknown(rc *rcpt, st state) {
	xc := x.s.xc
	// A relay target that is itself unknown bounces: Postfix would drop it
	// silently (its duplicate filter ends the recursion without a status).
	if xc == nil || xc.luserRelay == "" || st.luser {
		x.record(rc.Addr, st, x.s.unknown(rc))
		return
	}
	// One relayed copy per unknown local part, as Postfix's been_here.
	if x.been("unknown " + rc.Local) {
		return
	}
	vals := rc.expandValues(x.s.cfg.recipientDelim)
	target := strings.TrimSpace(config.Expand(xc.luserRelay, func(name string) (string, bool) {
		v := vals[name]
		return v, v != ""
	}))
	if target == "" {
		x.s.log.Warn("%s: luser_relay expands to nothing for %s", x.r.QueueID, printable.Except(rc.Addr, '_', "\t"))
		x.record(rc.Addr, st, x.s.unknown(rc))
		return
	}
	// The relay address is what the mail is for now: no extension is
	// spliced into it, and "|cmd" or /file get no special meaning.
	st.unmatched, st.luser = "", true
	x.address(target, false, st)
}
