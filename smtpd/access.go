package main

import (
	"fmt"
	"strings"

	"postern/pkg/addr"
	"postern/pkg/config"
	"postern/pkg/resolve"
)

// authorized tells whether canonical recipient rcpt may be accepted from anybody, as
// Postfix's permit_auth_destination: pkg/resolve says its class is final (local, virtual
// alias, virtual mailbox) or relay, and its local part does not route elsewhere
// (user@a@here, or user%a@here without allow_percent_hack). err is a table that could
// not answer.
func (p *policy) authorized(rcpt string) (bool, error) {
	res := p.res.Resolve(rcpt)
	if res.Err != nil {
		return false, res.Err
	}
	return !res.Routed && (res.Class.Final() || res.Class == resolve.Relay), nil
}

// recipient check results
type verdict int

const (
	vDunno verdict = iota
	vPermit
	vReject
)

// rcptCheck is the state for evaluating restrictions on one RCPT command.
type rcptCheck struct {
	s         *session
	rcpt      string // as received
	canonical string
}

// restriction lists evaluated at RCPT (smtpd_delay_reject = yes): client, helo, sender,
// relay, recipient, in that order; a permit ends only its own list.
var rcptLists = config.SMTPDRestrictionLists

// workingRejects are the restrictions of which relay or recipient restrictions need one.
var workingRejects = map[string]bool{
	"reject_unauth_destination": true, "defer_unauth_destination": true,
	"reject": true, "defer": true, "defer_if_permit": true, "check_relay_domains": true,
}

const workingRejectsText = "reject_unauth_destination, defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains"

// checkRcpt evaluates the restriction lists and the unlisted-recipient check; nil = accept.
func (c *rcptCheck) run() *replyErr {
	p := c.s.srv.policy
	var deferred *replyErr // the first defer_if_permit
	for _, name := range rcptLists {
		items := p.lists[name]
		for i := 0; i < len(items); i++ {
			r, arg := strings.ToLower(items[i]), ""
			if argRestrictions[r] && i+1 < len(items) {
				i++
				arg = items[i]
			}
			v, e := c.eval(r, name, arg)
			if e != nil {
				if e.deferIfPermit {
					if deferred == nil {
						deferred = e
					}
					continue
				}
				return e
			}
			if v == vPermit {
				break
			}
		}
	}
	if deferred != nil {
		if deferred.code == 0 {
			return &replyErr{code: p.deferCode, dsn: "4.7.1", text: fmt.Sprintf("<%s>: Recipient address rejected: defer_if_permit requested", c.rcpt)}
		}
		deferred.deferIfPermit = false
		return deferred
	}
	if p.rejectUnlisted {
		if e := c.unlisted(); e != nil {
			return e
		}
	}
	return nil
}

func (c *rcptCheck) eval(r, list, arg string) (verdict, *replyErr) {
	s, p := c.s, c.s.srv.policy
	switch r {
	case "permit":
		return vPermit, nil
	case "dunno":
		return vDunno, nil
	case "reject":
		return vReject, &replyErr{code: p.rejectCode, dsn: "5.7.1", text: c.subject(list) + " rejected: Access denied"}
	case "defer":
		return vReject, &replyErr{code: p.deferCode, dsn: "4.3.2", text: c.subject(list) + " rejected: Try again later"}
	case "defer_if_permit":
		return vDunno, &replyErr{deferIfPermit: true}
	case "permit_mynetworks":
		if ok, err := p.mynetworks.MatchHost(s.clientName, s.clientIP); err != nil {
			return vReject, c.lookupFailure(err)
		} else if ok {
			return vPermit, nil
		}
	case "permit_sasl_authenticated":
		if s.w.saslUser != "" {
			return vPermit, nil
		}
	case "permit_auth_destination":
		if ok, err := p.authorized(c.canonical); err != nil {
			return vReject, c.lookupFailure(err)
		} else if ok {
			return vPermit, nil
		}
	case "reject_unauth_destination", "check_relay_domains":
		if ok, err := p.authorized(c.canonical); err != nil {
			return vReject, c.lookupFailure(err)
		} else if !ok {
			return vReject, &replyErr{code: p.relayCode, dsn: "5.7.1", text: fmt.Sprintf("<%s>: Relay access denied", c.rcpt)}
		}
	case "defer_unauth_destination":
		if ok, err := p.authorized(c.canonical); err != nil {
			return vReject, c.lookupFailure(err)
		} else if !ok {
			return vReject, &replyErr{code: p.relayCode - 100, dsn: "4.7.1", text: fmt.Sprintf("<%s>: Relay access denied", c.rcpt)}
		}
	case "reject_unlisted_recipient", "check_recipient_maps":
		if e := c.unlisted(); e != nil {
			return vReject, e
		}
	default:
		if v, e, ok := c.evalMore(r, list, arg); ok {
			return v, e
		}
		// 451 as Postfix for a name it does not know; postfix check warned about it already.
		if config.PostfixRestriction(r) {
			s.srv.log.Warn("restriction %s is not implemented by Postern", r)
		} else {
			s.srv.log.Warn("unknown smtpd restriction: \"%s\"", r)
		}
		return vReject, &replyErr{code: 451, dsn: "4.3.5", text: "Server configuration error"}
	}
	return vDunno, nil
}

// subject is "<x>: Class address" for reject texts, by restriction list.
func (c *rcptCheck) subject(list string) string {
	s := c.s
	switch list {
	case "smtpd_client_restrictions":
		return fmt.Sprintf("<%s[%s]>: Client host", s.clientName, s.clientAddr)
	case "smtpd_helo_restrictions":
		return fmt.Sprintf("<%s>: Helo command", s.heloName())
	case "smtpd_sender_restrictions":
		return fmt.Sprintf("<%s>: Sender address", s.from)
	}
	return fmt.Sprintf("<%s>: Recipient address", c.rcpt)
}

// lookupFailure is the reply for a table that could not answer; the table's complaint is
// logged.
func (c *rcptCheck) lookupFailure(err error) *replyErr {
	c.s.srv.log.Warn("%v", err)
	return &replyErr{code: 451, dsn: "4.3.0", text: fmt.Sprintf("<%s>: Temporary lookup failure", c.rcpt)}
}

// unlisted is smtpd_reject_unlisted_recipient, as Postfix's check_rcpt_maps: an address
// that recipient_canonical_maps, canonical_maps or virtual_alias_maps knows is accepted;
// otherwise a recipient in a local domain must be in local_recipient_maps (postmaster,
// MAILER-DAEMON and the double-bounce name always are), and a recipient in a virtual alias
// domain is unknown. Lookups use cleanup's key order (pkg/rewrite), so user+ext falls back
// to user, and a wildcard @domain entry makes every address of the domain known.
func (c *rcptCheck) unlisted() *replyErr {
	p := c.s.srv.policy
	res := p.res.Resolve(c.canonical)
	if res.Err != nil {
		return c.lookupFailure(res.Err)
	}
	if res.Routed {
		return nil
	}
	isLocal, isAlias := res.Class == resolve.Local, res.Class == resolve.Alias
	local, _ := addr.Split(res.Recipient)
	if !isLocal && !isAlias {
		return nil
	}
	if isLocal && p.localMaps == nil {
		return nil
	}
	for _, f := range p.knownMaps {
		_, _, found, err := f.Find(res.Recipient)
		if err != nil {
			return c.lookupFailure(err)
		}
		if found {
			return nil
		}
	}
	if isAlias {
		return &replyErr{code: p.unknownVirtualCode, dsn: "5.1.1",
			text: fmt.Sprintf("<%s>: Recipient address rejected: User unknown in virtual alias table", c.rcpt)}
	}
	switch strings.ToLower(local) {
	case "postmaster", "mailer-daemon", p.doubleBounce:
		return nil
	}
	_, _, found, err := p.localMaps.Find(res.Recipient)
	if err != nil {
		return c.lookupFailure(err)
	}
	if found {
		return nil
	}
	return &replyErr{code: p.unknownLocalCode, dsn: "5.1.1",
		text: fmt.Sprintf("<%s>: Recipient address rejected: User unknown in local recipient table", c.rcpt)}
}
