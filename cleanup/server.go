package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"postern/pkg/cleanup"
	"postern/pkg/config"
	"postern/pkg/header"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/queue"
)

// server holds what every connection needs; main.cf is read once, at start (master restarts
// cleanup on reload).
type server struct {
	q           *queue.Queue
	log         *maillog.Logger
	verbose     bool
	myorigin    string
	myhostname  string
	emptyRcpt   string
	lineLimit   int
	headerLimit int // header_size_limit
	headerCap   int // how much of a header-block line is held before deciding what it is
	hopLimit    int
	sizeLimit   int64 // message_size_limit, 0 = none
	envLimit    int   // bytes of envelope records held in memory
	dupLimit    int
	attrLimit   int
	dropHeaders map[string]bool
	alwaysAdd   bool
	replaceCR   bool
	timeout     time.Duration
	warnDelay   time.Duration // delay_warning_time, 0 = no delay warnings
	trigger     *trigger
	rw          *rewriter
}

func newServer(cfg *config.Config, log *maillog.Logger, verbose bool) (*server, error) {
	qdir := cfg.Get("queue_directory")
	if qdir == "" {
		return nil, errors.New("queue_directory is not set")
	}
	s := &server{
		q:           queue.New(qdir),
		log:         log,
		verbose:     verbose,
		myorigin:    cfg.MyOrigin(),
		myhostname:  cfg.Get("myhostname"),
		emptyRcpt:   cfg.Get("empty_address_recipient"),
		lineLimit:   int(max(cfg.Int("line_length_limit"), 80)),
		headerLimit: int(max(cfg.Int("header_size_limit"), 1024)),
		hopLimit:    int(max(cfg.Int("hopcount_limit"), 1)),
		sizeLimit:   max(cfg.Int("message_size_limit"), 0),
		dupLimit:    int(max(cfg.Int("duplicate_filter_limit"), 0)),
		attrLimit:   int(max(cfg.Int("queue_file_attribute_count_limit"), 1)),
		dropHeaders: map[string]bool{},
		alwaysAdd:   cfg.Bool("always_add_missing_headers"),
		replaceCR:   cfg.Bool("cleanup_replace_stray_cr_lf"),
		timeout:     cfg.Duration("ipc_timeout"),
		warnDelay:   cfg.Duration("delay_warning_time"),
	}
	if s.emptyRcpt == "" {
		s.emptyRcpt = "MAILER-DAEMON"
	}
	// Enough of a line to tell a header from a body line, and to truncate a header at the limit.
	s.headerCap = max(s.headerLimit, header.Lookahead)
	// The envelope is held in memory until M: bound it by the size limit, or a fixed 64 MiB.
	s.envLimit = 64 << 20
	if s.sizeLimit > 0 && s.sizeLimit < int64(s.envLimit) {
		s.envLimit = int(max(s.sizeLimit, 1<<20))
	}
	for _, h := range cfg.List("message_drop_headers") {
		s.dropHeaders[strings.ToLower(h)] = true
	}
	rw, err := newRewriter(cfg, log)
	if err != nil {
		return nil, err
	}
	s.rw = rw
	s.emptyRcpt = rw.canon.Address(s.emptyRcpt)
	s.trigger = newTrigger(filepath.Join(qdir, "public", "qmgr"), cfg.Duration("trigger_timeout"))
	return s, nil
}

// Error classes: pkg/cleanup's status bits (Postfix's CLEANUP_STAT_*), under the short
// names the handlers use. The reply is that of the first bit set, in cleanup.Details order.
const (
	errDefer = cleanup.StatDefer
	errBad   = cleanup.StatBad
	errRcpt  = cleanup.StatRcpt
	errHops  = cleanup.StatHops
	errSize  = cleanup.StatSize
	errWrite = cleanup.StatWrite
)

// Stream phases.
const (
	phaseEnvelope = iota
	phaseContent
	phaseExtracted
)

// conn is one submission.
type conn struct {
	s       *server
	id      string
	created time.Time
	out     out
	env     envelope
	hdr     headers
	phase   int
	errs    int
	inBytes int64 // content as received, for message_size_limit
}

var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// handle serves one client: create the queue file, announce its ID, read the record stream,
// answer. The answer comes only after the file is durable.
func (s *server) handle(nc net.Conn) {
	defer nc.Close()
	f, err := s.q.Create(queue.Incoming, 0)
	if err != nil {
		s.log.Warn("create file %s: %v", queue.Incoming, err)
		ipc.Write(nc, append(ipc.Attrs{{Name: cleanup.AttrQueueID, Value: ""}}, cleanup.Reply(errWrite, "")...))
		return
	}
	c := &conn{s: s, id: f.ID, created: time.Now()}
	c.out = out{f: f, limit: s.lineLimit}
	c.hdr.inBlock = true
	if err := ipc.Write(nc, ipc.Attrs{{Name: cleanup.AttrQueueID, Value: f.ID}}); err != nil {
		f.Abort()
		return
	}
	br := readers.Get().(*bufio.Reader)
	br.Reset(ipc.IdleConn{Conn: nc, Timeout: s.timeout})
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	if err := c.run(queue.NewRecordReader(br, 0)); err != nil {
		f.Abort()
		if err != queue.ErrCorrupt && errors.Is(err, queue.ErrCorrupt) {
			// A record too large for the format: a broken client, worth a warning.
			s.log.Warn("%s: %v", c.id, err)
			ipc.Write(nc, cleanup.Reply(errBad, c.id))
		} else if s.verbose {
			s.log.Info("%s: client disconnected before the end of the message: %v", c.id, err)
		}
		return
	}
	if c.env.nrcpt == 0 && c.errs == 0 {
		c.errs |= errRcpt
	}
	if c.errs == 0 {
		if err := c.out.commit(c.env.nrcpt); err != nil {
			s.log.Warn("%s: write queue file: %v", c.id, err)
			c.errs |= errWrite
		}
	}
	if c.errs != 0 {
		f.Abort()
		ipc.Write(nc, cleanup.Reply(c.errs, c.id))
		return
	}
	for _, l := range c.hdr.logs {
		s.log.Info("%s: %s", c.id, l)
	}
	ipc.Write(nc, cleanup.Reply(0, c.id))
	s.trigger.kick()
}

// run reads records up to E. Content and protocol problems only set c.errs, so the client
// is read to its end and gets one answer; an error return means the stream itself broke
// (disconnect, timeout, bad encoding) and nobody is waiting for an answer.
func (c *conn) run(rr *queue.RecordReader) error {
	for {
		typ, data, _, err := rr.Next()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		switch c.phase {
		case phaseEnvelope:
			if typ == queue.RecMesg {
				if !c.env.haveSndr {
					c.s.log.Warn("%s: message rejected: missing sender envelope record", c.id)
					c.errs |= errBad
				}
				if c.errs == 0 {
					c.writeEnvelope()
				}
				c.phase = phaseContent
				continue
			}
			if !c.envRecord(typ, data) {
				c.errs |= errBad
			}
		case phaseContent:
			switch typ {
			case queue.RecNorm, queue.RecCont:
				c.inBytes += int64(len(data))
				if typ == queue.RecNorm {
					c.inBytes++
				}
				if c.s.sizeLimit > 0 && c.inBytes > c.s.sizeLimit {
					c.errs |= errSize
				}
				if c.errs == 0 {
					c.content(data, typ == queue.RecNorm)
				}
			case queue.RecXtra, queue.RecEnd:
				if c.errs == 0 {
					if c.hdr.inBlock {
						if len(c.hdr.line) > 0 && !c.hdr.skipRest { // content ended inside a line
							c.headerLine(c.hdr.line)
						}
						c.endBlock()
					}
					c.out.endContent()
				}
				c.phase = phaseExtracted
				if typ == queue.RecEnd {
					return c.finish()
				}
			default:
				c.s.log.Warn("%s: message rejected: unexpected record type %q in message content", c.id, typ)
				c.errs |= errBad
			}
		case phaseExtracted:
			switch typ {
			case queue.RecEnd:
				return c.finish()
			case queue.RecAttr:
				if !c.attrRecord(data, true) {
					c.errs |= errBad
				}
			case queue.RecOrig:
				c.env.pend.orig = string(data)
			case queue.RecRcpt:
				for _, r := range c.recipients(data) {
					if c.errs == 0 {
						c.writeRecipient(r)
					}
				}
			default:
				c.s.log.Warn("%s: message rejected: unexpected record type %q in extracted segment", c.id, typ)
				c.errs |= errBad
			}
		}
	}
}

func (c *conn) finish() error {
	if c.out.err != nil {
		c.s.log.Warn("%s: write queue file: %v", c.id, c.out.err)
		c.errs |= errWrite
	}
	return nil
}
