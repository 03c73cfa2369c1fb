package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"

	"postern/pkg/config"
	"postern/pkg/printable"
	"postern/pkg/queue"
	"postern/pkg/smtpcmd"
)

// sendmail -bs: an SMTP dialogue on standard input and output, as the invoking user. Postfix
// runs smtpd stand-alone for this; Postern answers the basic commands itself, with smtpd's
// reply texts, and hands each message to postdrop exactly as a plain sendmail invocation
// would. No network policy applies (the client is the local user, who could run sendmail
// anyway), and there is neither STARTTLS nor AUTH.

// smtpSession is one -bs dialogue.
type smtpSession struct {
	cfg  *config.Config
	br   *bufio.Reader
	bw   *bufio.Writer
	warn func(format string, args ...any)

	hostname  string
	sizeLimit int64
	rcptLimit int
	lineLimit int
	vrfy      bool
	utf8      bool
	queueDir  string
	minFree   int64

	// The transaction.
	mail    bool
	from    string
	attrs   []string // A records for the envelope (encoding, envelope_id, ret_flags)
	rcpts   []smtpRcpt
	esmtp   bool
	helo    string
	queued  int
	errors  int
	dropper func(*smtpSession) (*drop, error) // replaceable in tests
}

type smtpRcpt struct {
	addr   string
	notify int
	orcpt  string
}

// serveSMTP runs the dialogue until QUIT or end of input. It returns an error only when it
// cannot go on at all; a failed message is answered and the dialogue continues.
func serveSMTP(cfg *config.Config, in io.Reader, out io.Writer, warn func(string, ...any)) error {
	s := &smtpSession{
		cfg:       cfg,
		br:        bufio.NewReaderSize(in, 64<<10),
		bw:        bufio.NewWriterSize(out, 4096),
		warn:      warn,
		hostname:  cfg.Get("myhostname"),
		sizeLimit: cfg.Int("message_size_limit"),
		rcptLimit: int(cfg.Int("smtpd_recipient_limit")),
		lineLimit: int(cfg.Int("line_length_limit")),
		vrfy:      !cfg.Bool("disable_vrfy_command"),
		utf8:      cfg.Bool("smtputf8_enable"),
		queueDir:  cfg.Get("queue_directory"),
		minFree:   cfg.Int("queue_minfree"),
		dropper:   startPostdrop,
	}
	if s.lineLimit < 80 {
		s.lineLimit = 2048
	}
	s.reply("220 " + cfg.Get("smtpd_banner"))
	for {
		line, err := s.readLine()
		if err != nil {
			s.flush()
			return nil // end of input: like a lost connection, nothing half-queued remains
		}
		if !s.command(line) {
			s.flush()
			return nil
		}
	}
}

// reply queues one reply line; replies go out when the client's input is drained, so a
// pipelining client gets one write per batch, as from smtpd.
func (s *smtpSession) reply(line string) {
	s.bw.WriteString(line)
	s.bw.WriteString("\r\n")
	if c := line[0]; c == '4' || c == '5' {
		s.errors++
	}
}

func (s *smtpSession) flush() { s.bw.Flush() }

// readLine reads one line without its ending, truncated at line_length_limit.
func (s *smtpSession) readLine() (string, error) {
	if s.br.Buffered() == 0 {
		s.flush()
	}
	var line []byte
	for {
		frag, err := s.br.ReadSlice('\n')
		if room := s.lineLimit - len(line); room > 0 {
			line = append(line, frag[:min(len(frag), room)]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				break
			}
			return "", err
		}
		break
	}
	return string(bytes.TrimRight(line, "\r\n")), nil
}

// command answers one command line; false ends the dialogue.
func (s *smtpSession) command(line string) bool {
	word, arg, _ := strings.Cut(strings.TrimLeft(line, " \t"), " ")
	arg = strings.TrimSpace(arg)
	verb := strings.ToUpper(word)
	if strings.TrimSpace(line) == "" {
		s.reply("500 5.5.2 Error: bad syntax")
		return true
	}
	switch verb {
	case "HELO", "EHLO":
		if arg == "" {
			s.reply("501 Syntax: " + verb + " hostname")
			return true
		}
		s.reset()
		s.helo, s.esmtp = arg, verb == "EHLO"
		if verb == "HELO" {
			s.reply("250 " + s.hostname)
			return true
		}
		s.ehlo()
	case "MAIL":
		s.mailCmd(arg)
	case "RCPT":
		s.rcptCmd(arg)
	case "DATA":
		if arg != "" {
			s.reply("501 5.5.4 Syntax: DATA")
			return true
		}
		s.data()
	case "RSET":
		if arg != "" {
			s.reply("501 5.5.4 Syntax: RSET")
			return true
		}
		s.reset()
		s.reply("250 2.0.0 Ok")
	case "NOOP":
		s.reply("250 2.0.0 Ok")
	case "VRFY":
		switch {
		case !s.vrfy:
			s.reply("502 5.5.1 VRFY command is disabled")
		case arg == "":
			s.reply("501 5.5.4 Syntax: VRFY address")
		default:
			s.reply("252 2.0.0 " + printable.String(arg[:min(len(arg), 200)], '?'))
		}
	case "QUIT":
		s.reply("221 2.0.0 Bye")
		return false
	case "STARTTLS":
		s.reply("502 5.5.1 Error: command not implemented")
	case "AUTH":
		s.reply("503 5.5.1 Error: authentication not enabled")
	default:
		s.reply("500 5.5.2 Error: command not recognized")
	}
	return true
}

// ehlo answers EHLO with smtpd's keyword list minus STARTTLS, AUTH, ETRN and CHUNKING,
// which this responder does not do.
func (s *smtpSession) ehlo() {
	kw := []string{s.hostname, "PIPELINING"}
	if s.sizeLimit > 0 {
		kw = append(kw, "SIZE "+strconv.FormatInt(s.sizeLimit, 10))
	} else {
		kw = append(kw, "SIZE")
	}
	if s.vrfy {
		kw = append(kw, "VRFY")
	}
	kw = append(kw, "ENHANCEDSTATUSCODES", "8BITMIME", "DSN")
	if s.utf8 {
		kw = append(kw, "SMTPUTF8")
	}
	discard := map[string]bool{}
	for _, k := range s.cfg.List("smtpd_discard_ehlo_keywords") {
		discard[strings.ToUpper(k)] = true
	}
	var out []string
	for i, k := range kw {
		name, _, _ := strings.Cut(k, " ")
		if i == 0 || !discard[name] {
			out = append(out, k)
		}
	}
	for i, k := range out {
		sep := "-"
		if i == len(out)-1 {
			sep = " "
		}
		s.reply("250" + sep + k)
	}
}

func (s *smtpSession) reset() {
	s.mail, s.from, s.attrs, s.rcpts = false, "", nil, nil
}

// mailCmd and rcptCmd parse their arguments with pkg/smtpcmd, as smtpd does, so both
// answer a malformed command with Postfix's reply.
func (s *smtpSession) mailCmd(arg string) {
	if s.mail {
		s.reply("503 5.5.1 Error: nested MAIL command")
		return
	}
	from, m, bad := smtpcmd.MailArg(arg, smtpcmd.Options{SMTPUTF8: s.utf8, DSN: true})
	if bad != "" {
		s.reply(bad)
		return
	}
	var attrs []string
	switch m.Body {
	case "8BITMIME":
		attrs = append(attrs, "encoding=8bit")
	case "7BIT":
		attrs = append(attrs, "encoding=7bit")
	}
	if m.Ret != 0 {
		attrs = append(attrs, "ret_flags="+strconv.Itoa(m.Ret))
	}
	if m.Envid != "" {
		attrs = append(attrs, "envelope_id="+m.Envid)
	}
	if s.sizeLimit > 0 && m.Size > s.sizeLimit {
		s.reply("552 5.3.4 Message size exceeds fixed limit")
		return
	}
	if !queue.StorageOK(s.queueDir, s.sizeLimit, s.minFree, m.Size) {
		s.warn("not enough free space in mail queue: %s", s.queueDir)
		s.reply("452 4.3.1 Insufficient system storage")
		return
	}
	s.mail, s.from, s.attrs, s.rcpts = true, from, attrs, nil
	s.reply("250 2.1.0 Ok")
}

func (s *smtpSession) rcptCmd(arg string) {
	if !s.mail {
		s.reply("503 5.5.1 Error: need MAIL command")
		return
	}
	to, p, bad := smtpcmd.RcptArg(arg, smtpcmd.Options{DSN: true})
	if bad != "" {
		s.reply(bad)
		return
	}
	r := smtpRcpt{addr: to, notify: p.Notify}
	if p.OrcptType != "" {
		r.orcpt = p.OrcptType + ";" + p.Orcpt
	}
	if s.rcptLimit > 0 && len(s.rcpts) >= s.rcptLimit {
		s.reply("452 4.5.3 Error: too many recipients")
		return
	}
	s.rcpts = append(s.rcpts, r)
	s.reply("250 2.1.5 Ok")
}

// data reads the message and queues it through postdrop.
func (s *smtpSession) data() {
	if !s.mail || len(s.rcpts) == 0 {
		s.reply("503 5.5.1 Error: need RCPT command")
		return
	}
	defer s.reset()
	d, err := s.dropper(s)
	if err != nil {
		s.warn("%v", err)
		s.reply("451 4.3.0 Error: queue file write error")
		return
	}
	s.envelope(d)
	s.reply("354 End data with <CR><LF>.<CR><LF>")
	s.flush()
	tooBig, eof := s.content(d)
	if eof {
		d.cancel()
		return
	}
	if tooBig {
		d.cancel()
		s.reply("552 5.3.4 Error: message file too big")
		return
	}
	d.rec(queue.RecXtra, "")
	d.rec(queue.RecEnd, "")
	id, err := d.finish()
	if err != nil {
		s.warn("%v", err)
		s.reply("451 4.3.0 Error: queue file write error")
		return
	}
	s.queued++
	s.reply("250 2.0.0 Ok: queued as " + id)
}

// envelope writes the records before the content: the same shape a plain sendmail
// submission has, so pickup treats both alike.
func (s *smtpSession) envelope(d *drop) {
	d.rec(queue.RecAttr, "rewrite_context=local")
	for _, a := range s.attrs {
		d.rec(queue.RecAttr, a)
	}
	d.rec(queue.RecSender, s.from)
	for _, r := range s.rcpts {
		if r.notify != 0 {
			d.rec(queue.RecAttr, "notify_flags="+strconv.Itoa(r.notify))
		}
		if r.orcpt != "" {
			d.rec(queue.RecAttr, "dsn_orig_rcpt="+r.orcpt)
		}
		d.rec(queue.RecRcpt, r.addr)
	}
	d.rec(queue.RecMesg, "")
}

// content copies DATA content up to the lone dot into N/L records, undoing dot-stuffing.
// Past message_size_limit the rest is read and dropped. eof says the input ended first.
func (s *smtpSession) content(d *drop) (tooBig, eof bool) {
	var size int64
	for {
		line, err := s.readContentLine()
		if err != nil {
			return false, true
		}
		if string(line) == "." {
			return tooBig, false
		}
		if len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		size += int64(len(line)) + 2
		if s.sizeLimit > 0 && size > s.sizeLimit {
			tooBig = true
		}
		if !tooBig {
			d.line(line, s.lineLimit)
		}
	}
}

// readContentLine reads a whole content line (any length) without its line ending.
func (s *smtpSession) readContentLine() ([]byte, error) {
	var line []byte
	for {
		frag, err := s.br.ReadSlice('\n')
		line = append(line, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, err
		}
		return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")), nil
	}
}

// stderrLine lets postdrop's diagnostics through to sendmail's standard error while picking
// out the queue ID that postdrop -v reports.
type stderrLine struct {
	partial []byte
	id      string
}

func (w *stderrLine) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.partial[:i+1])
		w.partial = w.partial[i+1:]
		if v, ok := strings.CutPrefix(line, "postdrop: queue_id="); ok {
			w.id = strings.TrimSpace(v)
			continue
		}
		os.Stderr.WriteString(line)
	}
}
