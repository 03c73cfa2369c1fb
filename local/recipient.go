package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"strings"

	"postern/pkg/addr"
	"postern/pkg/dsn"
	"postern/pkg/header"
	"postern/pkg/passwd"
	"postern/pkg/printable"
	"postern/pkg/queue"
)

// rcpt is the recipient of one delivery, as local(8)'s msg_attr.
type rcpt struct {
	req    *request
	Addr   string // envelope recipient, as in the request (and Delivered-To)
	Local  string // local part, lower-cased (with extension)
	Domain string // lower-cased, as Postfix's msg_attr.domain
	User   string // Local without the extension
	Ext    string // address extension ($EXTENSION)

	// Delivered is the Delivered-To value when it is not Addr: with
	// frozen_delivered_to, the recipient of the request (expand.go).
	Delivered string
}

// account is the passwd entry a delivery runs as.
type account = passwd.User

// deliver runs Postfix's delivery order for one recipient (§6.2): loop
// check, aliases, user lookup, .forward, mailbox.
func (s *server) deliver(r *request, qf *os.File) dsn.Status {
	if len(r.Recipient) > maxAddress || len(r.Sender) > maxAddress || len(r.Orig) > maxAddress {
		return dsn.Bounce("5.1.3", "address too long")
	}
	rc := s.resolve(r)
	if rc.User == "" {
		return dsn.Bounce("5.1.3", "null username in \"%s\"", r.Recipient)
	}

	// External loop control: the recipient's own Delivered-To header means
	// this message has been here before.
	seen, err := deliveredTo(qf, r.Offset)
	if err != nil {
		s.log.Warn("%s: read message headers: %v", r.QueueID, err)
		return dsn.Defer("4.3.0", "error reading message")
	}
	if seen[strings.ToLower(rc.Addr)] {
		return dsn.Bounce("5.4.6", "mail forwarding loop for %s", rc.Addr)
	}
	r.qf, r.loop = qf, seen

	if s.aliases != nil {
		if st, ok := s.aliases(rc); ok {
			return st
		}
	}

	u, err := lookupUser(rc.User)
	switch {
	case errors.Is(err, passwd.ErrNotFound):
		if s.xc != nil && s.xc.luserRelay != "" {
			x := s.newExpansion(r)
			x.unknown(rc, x.top())
			return x.finish()
		}
		return s.unknown(rc)
	case err != nil:
		s.log.Warn("%s: user lookup %s: %v", r.QueueID, rc.User, err)
		return dsn.Defer("4.0.0", "user lookup error")
	}

	if s.dotforward != nil {
		if st, ok := s.dotforward(rc, u); ok {
			return st
		}
	}
	return s.mailbox(rc, u, qf)
}

// resolve splits the recipient into the parts local decides on.
func (s *server) resolve(r *request) *rcpt {
	local, domain := addr.Split(r.Recipient)
	rc := &rcpt{req: r, Addr: r.Recipient, Local: strings.ToLower(local), Domain: strings.ToLower(domain)}
	rc.User, rc.Ext = rc.Local, ""
	if s.cfg.recipientDelim != "" && !s.unsplit(rc.Local) {
		if i := strings.IndexAny(rc.Local, s.cfg.recipientDelim); i == 0 {
			rc.User = "" // "+ext" alone: a null user name
		} else {
			rc.User, rc.Ext = addr.Extension(rc.Local, s.cfg.recipientDelim)
		}
	}
	if strings.Contains(rc.Ext, "/") {
		s.log.Warn("%s: dropping extension with \"/\" in %s", r.QueueID, printable.Except(r.Recipient, '_', "\t"))
		rc.Ext = ""
	}
	return rc
}

// unsplit tells which local parts keep their delimiter, as Postfix's
// split_addr(): postmaster, mailer-daemon and double_bounce_sender always;
// with owner_request_special and "-" among the delimiters, owner-NAME and
// NAME-request, the list conventions that predate address extensions.
func (s *server) unsplit(local string) bool {
	if strings.EqualFold(local, "postmaster") || strings.EqualFold(local, "mailer-daemon") ||
		s.cfg.doubleBounce != "" && strings.EqualFold(local, s.cfg.doubleBounce) {
		return true
	}
	if s.cfg.ownerSpecial && strings.Contains(s.cfg.recipientDelim, "-") {
		l := strings.ToLower(local)
		return strings.HasPrefix(l, "owner-") || len(l) > len("-request") && strings.HasSuffix(l, "-request")
	}
	return false
}

// lookupUser is getpwnam() for a name from the network: names that could
// never be account names (and might walk out of the spool directory) are
// unknown without looking.
func lookupUser(name string) (*account, error) {
	if name == "" || len(name) > 256 || name[0] == '.' || strings.ContainsAny(name, "/:\x00\n") {
		return nil, passwd.ErrNotFound
	}
	u, err := passwd.Lookup(name)
	if err != nil {
		return nil, err
	}
	if u.Name == "" || strings.ContainsAny(u.Name, "/") || u.Name[0] == '.' {
		return nil, passwd.ErrNotFound
	}
	return u, nil
}

// unknown is the end of local(8)'s deliver_unknown, when luser_relay does
// not apply (luser.go): the two required addresses are discarded with a
// warning rather than bounced, since a bounce to them could loop. Both
// name the user without the extension, as Postfix.
func (s *server) unknown(rc *rcpt) dsn.Status {
	if strings.EqualFold(rc.User, "postmaster") || strings.EqualFold(rc.User, "mailer-daemon") {
		s.log.Warn("required alias not found: %s", printable.Except(rc.User, '_', "\t"))
		return dsn.Sent("2.0.0", "discarded")
	}
	return dsn.Bounce("5.1.1", "unknown user: \"%s\"", rc.User)
}

// Header scan limits: a hostile message gets no more than this much of
// our attention before the body.
const (
	maxHeaderBytes    = 1 << 20
	maxDeliveredTo    = 1000
	deliveredToPrefix = "delivered-to:"
)

// deliveredTo collects the lower-cased Delivered-To values of the
// message's header block, which ends at the first line that is not a
// header or a continuation (package postern/pkg/header).
func deliveredTo(qf *os.File, offset int64) (map[string]bool, error) {
	seen := map[string]bool{}
	br := bufio.NewReaderSize(io.LimitReader(queue.ContentReader(qf, offset), maxHeaderBytes), 4096)
	var sp header.Splitter
	for {
		line, err := br.ReadSlice('\n')
		long := err == bufio.ErrBufferFull
		if len(line) > 0 {
			// A long line's first piece (4096 bytes) is enough to tell.
			if k := sp.Next(bytes.TrimSuffix(line, []byte{'\n'})); k != header.Field && k != header.Continuation {
				return seen, nil
			}
			if len(line) > len(deliveredToPrefix) && bytes.EqualFold(line[:len(deliveredToPrefix)], []byte(deliveredToPrefix)) &&
				len(seen) < maxDeliveredTo {
				v := strings.ToLower(strings.TrimSpace(string(line[len(deliveredToPrefix):])))
				if v != "" {
					seen[v] = true
				}
			}
		}
		for long { // skip the rest of an overlong line
			_, err = br.ReadSlice('\n')
			long = err == bufio.ErrBufferFull
		}
		if err == io.EOF {
			return seen, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
