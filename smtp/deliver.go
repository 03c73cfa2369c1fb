package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"postern/pkg/addr"
	"postern/pkg/dsn"
	"postern/pkg/printable"
	"postern/pkg/queue"
)

// result is the outcome for one recipient.
type result struct {
	st      dsn.Status
	diag    string // the remote reply (diag_type=smtp), when a server answered
	mta     string // the remote host's name, when one was reached
	relay   string // host[addr]:port of the session, "" = none
	connUse int
	set     bool
}

// message is what a transaction needs of the queue file.
type message struct {
	f        *os.File
	offset   int64 // first content record
	size     int64 // message length in bytes (for SIZE=)
	eightBit bool
	utf8     bool // cleanup saw SMTPUTF8 requested
}

// openMessage opens the queue file (deliver.Request.Open) and reads the size, the encoding
// and whether the content has 8-bit bytes.
func (s *server) openMessage(r *request) (*message, error) {
	f, err := r.Open(s.queue)
	if err != nil {
		return nil, err
	}
	m := &message{f: f, offset: r.Offset}
	rr := queue.NewRecordReader(bufio.NewReaderSize(io.NewSectionReader(f, 0, r.Offset), 16<<10), 0)
	encoding := ""
	for {
		typ, data, _, err := rr.Next()
		if err != nil {
			break // the envelope ends at the content offset
		}
		switch typ {
		case queue.RecSize:
			fs := strings.Fields(string(data))
			if len(fs) >= 5 {
				m.size, _ = strconv.ParseInt(fs[4], 10, 64)
			}
			if len(fs) >= 6 {
				n, _ := strconv.ParseInt(fs[5], 10, 64)
				m.utf8 = n != 0
			}
		case queue.RecAttr:
			if k, v, _ := strings.Cut(string(data), "="); k == "encoding" {
				encoding = strings.ToLower(v)
			}
		}
	}
	m.eightBit = encoding == "8bit"
	if !m.eightBit {
		// No declaration (local submission) or 7bit: look, as cleanup would have.
		br := bufio.NewReaderSize(queue.ContentReader(f, r.Offset), 64<<10)
		var size int64
		for {
			b, err := br.ReadByte()
			if err != nil {
				break
			}
			size++
			if b >= 0x80 {
				m.eightBit = true
				break
			}
		}
		if m.size == 0 {
			m.size = size
		}
	}
	return m, nil
}

// destination is the nexthop to deliver to: the request's, else relayhost, else the
// recipient's domain.
func (s *server) destination(r *request) string {
	if r.Nexthop != "" {
		return r.Nexthop
	}
	if s.cfg.relayhost != "" {
		return s.cfg.relayhost
	}
	_, d := addr.Split(r.rcpts[0].Addr)
	return strings.ToLower(d)
}

// deliver tries the destination's servers until every recipient is decided or there is
// no server left; recipients left undecided keep the last temporary failure. It returns
// when the session that decided the last recipients was ready (the end of setup).
func (s *server) deliver(ctx context.Context, r *request, m *message) time.Time {
	dest := s.destination(r)
	key := strings.ToLower(dest) + "/" + s.cfg.tlsLevel
	pending := r.rcpts
	var ready time.Time
	for _, rc := range pending {
		rc.st = result{st: dsn.Defer("4.4.1", "delivery temporarily suspended: no server reached")}
	}

	// A cached session stands for its address: that address is not tried again, and a
	// temporary failure on it is final when it was the destination's only address.
	var cachedAddr *hop
	sessions := 0
	if ss := s.cache.get(key, time.Now(), s.cfg.cacheTime); ss != nil {
		if rep, err := ss.cmd(s.cfg.rsetTimeout, "RSET"); err == nil && rep.class() == 2 {
			ready = time.Now()
			h := ss.hop
			cachedAddr = &h
			sessions++
			pending = s.transact(ss, r, m, pending, false)
			s.release(ss)
		} else {
			ss.healthy = false
			ss.close(s.cfg.quitTimeout, false)
		}
		if len(pending) == 0 {
			return ready
		}
	}

	defPort, err := lookupPort(s.cfg.port)
	if err != nil {
		defPort = 25
	}
	targets, err := parseTargets(dest, defPort)
	if err != nil {
		s.log.Warn("%s: %v", r.QueueID, err)
		setAll(pending, result{st: dsn.Defer("4.3.5", "mail system configuration error: %s", printable.Except(printable.Trunc(dest, 100), '_', "\t"))}, true)
		return ready
	}
	var hops []hop
	var dnsRes *result
	for _, t := range targets {
		h, res := s.resolve(ctx, t)
		hops = append(hops, h...)
		if res != nil && (dnsRes == nil || res.st.Temporary()) {
			dnsRes = res
		}
	}
	if len(hops) == 0 {
		setAll(pending, *dnsRes, true)
		return ready
	}
	if cachedAddr != nil {
		rest := hops[:0]
		for _, h := range hops {
			if h.addr != cachedAddr.addr {
				rest = append(rest, h)
			}
		}
		hops = rest
		if len(hops) == 0 || s.cfg.sessLimit > 0 && sessions >= s.cfg.sessLimit {
			for _, rc := range pending {
				rc.st.set = true
			}
			return ready
		}
	}
	for i, h := range hops {
		if len(pending) == 0 || ctx.Err() != nil {
			break
		}
		lastAddr := i == len(hops)-1
		last := lastAddr || s.cfg.sessLimit > 0 && sessions+1 >= s.cfg.sessLimit
		ss, hf, err := s.open(ctx, h, key, true)
		if errors.Is(err, errPlaintext) {
			ss, hf, _ = s.open(ctx, h, key, false)
		}
		if hf != nil {
			connected := hf.res.st.Code != "4.4.1"
			if connected {
				sessions++ // the server answered: this counts as a session
				hf.res.relay = h.relay()
			} else {
				last = lastAddr // a failed connect does not use up a session
			}
			if !last {
				s.log.Info("%s", hf.res.st.Text)
			}
			setAll(pending, hf.res, last && !hf.res.st.Temporary())
			if last {
				break
			}
			continue
		}
		sessions++
		ready = time.Now()
		pending = s.transact(ss, r, m, pending, last)
		s.release(ss)
		if last {
			break
		}
	}
	return ready
}

// release caches a reusable session, or ends it.
func (s *server) release(ss *session) {
	reusable := ss.healthy && (s.cfg.reuseCount <= 0 || ss.uses < s.cfg.reuseCount) &&
		time.Since(ss.born) < s.cfg.reuseTime
	if reusable && s.cache.put(ss, time.Now()) {
		return
	}
	ss.close(s.cfg.quitTimeout, false)
}

// setAll gives res to every recipient in list; decide marks it final.
func setAll(list []*rcpt, res result, decide bool) {
	for _, rc := range list {
		rc.st = res
		rc.st.set = decide
	}
}

// transact runs one mail transaction for rcpts on ss and returns the recipients still
// undecided. On a server that is not the last to try, a temporary failure leaves the
// recipient for the next one; success, a permanent failure, or anything on the last
// server decides it.
func (s *server) transact(ss *session, r *request, m *message, rcpts []*rcpt, last bool) []*rcpt {
	ss.uses++
	h := ss.hop
	set := func(rc *rcpt, res result) {
		res.relay, res.connUse = h.relay(), ss.uses
		res.set = last || !res.st.Temporary()
		rc.st = res
	}
	setEach := func(list []*rcpt, res result) {
		for _, rc := range list {
			set(rc, res)
		}
	}
	said := func(rep reply, cmd string) result {
		return remote(h, rep, dsnOf(rep), "host %s said: %s (in reply to %s command)", h.label(), rep.text(), cmd)
	}
	undecided := func() []*rcpt {
		var out []*rcpt
		for _, rc := range rcpts {
			if !rc.st.set {
				out = append(out, rc)
			}
		}
		return out
	}

	var params strings.Builder
	if v, ok := ss.ext["SIZE"]; ok {
		if limit, err := strconv.ParseInt(v, 10, 64); err == nil && limit > 0 && m.size > limit {
			setEach(rcpts, result{st: dsn.Bounce("5.3.4", "message size %d exceeds size limit %d of server %s", m.size, limit, h.label()), mta: h.name})
			return undecided()
		}
		if m.size > 0 {
			fmt.Fprintf(&params, " SIZE=%d", m.size)
		}
	}
	if _, ok := ss.ext["8BITMIME"]; ok && m.eightBit {
		params.WriteString(" BODY=8BITMIME")
	}
	needUTF8 := !ascii(r.Sender)
	for _, rc := range rcpts {
		needUTF8 = needUTF8 || !ascii(rc.Addr)
	}
	if _, ok := ss.ext["SMTPUTF8"]; ok && (needUTF8 || m.utf8) {
		params.WriteString(" SMTPUTF8")
	} else if needUTF8 {
		setEach(rcpts, result{st: dsn.Bounce("5.6.7", "SMTPUTF8 is required, but was not offered by host %s", h.label()), mta: h.name})
		return undecided()
	}

	rep, err := ss.cmd(s.cfg.mailTimeout, "MAIL FROM:<%s>%s", r.Sender, params.String())
	if err != nil {
		setEach(rcpts, ss.lost(err, "sending MAIL FROM").res)
		return undecided()
	}
	if rep.class() != 2 {
		setEach(rcpts, said(rep, "MAIL FROM"))
		return undecided()
	}
	var accepted []*rcpt
	for i, rc := range rcpts {
		rep, err := ss.cmd(s.cfg.rcptTimeout, "RCPT TO:<%s>", rc.Addr)
		if err != nil {
			res := ss.lost(err, "sending RCPT TO").res
			setEach(accepted, res)
			setEach(rcpts[i:], res)
			return undecided()
		}
		if rep.class() == 2 {
			accepted = append(accepted, rc)
		} else {
			set(rc, said(rep, "RCPT TO"))
		}
	}
	if len(accepted) == 0 {
		return undecided() // the next use starts with RSET
	}
	rep, err = ss.cmd(s.cfg.dataInitTimeout, "DATA")
	if err != nil {
		setEach(accepted, ss.lost(err, "sending DATA command").res)
		return undecided()
	}
	if rep.code != 354 {
		if rep.class() == 2 || rep.class() == 3 {
			rep.code = 450 // a wrong positive reply: retry later
		}
		setEach(accepted, said(rep, "DATA"))
		return undecided()
	}
	if err := ss.writeData(queue.ContentReader(m.f, m.offset), s.cfg.dataXferTimeout); err != nil {
		var ce *contentError
		if errors.As(err, &ce) {
			// Ending the connection without the final dot makes the server drop the
			// partial message.
			ss.healthy = false
			s.log.Warn("%s: read queue file: %v", r.QueueID, ce.err)
			setEach(accepted, result{st: dsn.Defer("4.3.0", "error reading message file")})
			return undecided()
		}
		setEach(accepted, ss.lost(err, "sending message body").res)
		return undecided()
	}
	rep, err = ss.read(s.cfg.dataDoneTimeout)
	if err != nil {
		setEach(accepted, ss.lost(err, "sending end of data -- message may be sent more than once").res)
		return undecided()
	}
	if rep.class() == 2 {
		setEach(accepted, result{st: dsn.Sent(rep.dsn(), "%s", rep.text()), mta: h.name})
	} else {
		setEach(accepted, said(rep, "end of DATA"))
	}
	return undecided()
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
