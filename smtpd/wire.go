package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The wire sits between the client's socket and go-smtp. go-smtp parses and sequences the
// protocol; the wire gives it Postfix's face (see doc.go, "Protocol front"): it reads the
// client one command line at a time (truncated at line_length_limit, with smtpd_timeout per
// read), answers the commands go-smtp would answer differently from Postfix (NOOP, VRFY,
// AUTH, unknown and non-SMTP commands, empty HELO/EHLO) itself, rewrites go-smtp's reply
// texts into Postfix's, counts commands and errors for the disconnect line and the error
// limits, and sends all replies that are ready in one write, when the client's input is
// drained (as Postfix does for pipelined commands).
type wire struct {
	conn net.Conn
	srv  *server
	br   *bufio.Reader

	name, addr string     // client name ("unknown" when not verified) and address text
	ip         netip.Addr // invalid for non-IP transports

	mu      sync.Mutex // guards out and closed against a concurrent Close
	out     []byte     // replies not yet sent
	closed  bool
	onClose func()

	mode      int
	dataState int   // mirror of go-smtp's end-of-data state machine
	chunkLeft int64 // BDAT bytes still to pass through
	ready     []byte
	held      []byte // a client line kept back behind a synthetic HELO
	partial   []byte // an incomplete reply line from go-smtp
	multi     []string
	pending   []pend
	greeted   bool
	dead      bool

	heloSeen  bool // go-smtp has a session (some HELO/EHLO reached it)
	heloGiven bool // the client itself said HELO/EHLO
	esmtp     bool
	bare      bool // the MAIL/RCPT being processed had no domain; "@"+bareDomain was added

	tlsActive  bool
	saslUser   string // authenticated user; "" when not
	saslMethod string
	authFails  int
	junk       int       // NOOP, RSET, VRFY, ETRN commands, for smtpd_junk_command_limit
	dataStart  time.Time // start of the DATA content or BDAT chunk being read
	dataBytes  int64

	errors  int
	lastCmd string
	counts  map[string]*[2]int // ok, total
	sess    *session
}

type pend struct {
	cmd    string // lower case
	arg    string
	hidden bool // synthetic: its reply is dropped
}

const (
	modeCmd = iota
	modeData
	modeChunk
	modeAuth
)

// bareDomain is appended to domain-less MAIL/RCPT addresses so that go-smtp's parser, which
// insists on a domain, accepts them; the session strips it again (only when the wire says it
// added it).
const bareDomain = "postern.bare.invalid"

// lookupName is the reverse lookup, replaceable in tests; "" means unknown.
var lookupName = func(ip netip.Addr) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	names, err := net.DefaultResolver.LookupAddr(ctx, ip.String())
	if err != nil || len(names) == 0 {
		return ""
	}
	name := strings.TrimSuffix(names[0], ".")
	// Forward-confirm, as Postfix does before it trusts the name.
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if a.Unmap() == ip {
			return name
		}
	}
	return ""
}

func newWire(s *server, c net.Conn) *wire {
	w := &wire{conn: c, srv: s, br: bufio.NewReaderSize(c, 64<<10), name: "unknown", addr: "unknown",
		lastCmd: "CONNECT", counts: map[string]*[2]int{}}
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			w.ip = ip.Unmap()
			w.addr = w.ip.String()
			if n := lookupName(w.ip); n != "" {
				w.name = n
			}
		}
	}
	return w
}

func (w *wire) client() string { return w.name + "[" + w.addr + "]" }

// net.Conn plumbing: go-smtp may set deadlines; the wire keeps its own.
func (w *wire) LocalAddr() net.Addr                { return w.conn.LocalAddr() }
func (w *wire) RemoteAddr() net.Addr               { return w.conn.RemoteAddr() }
func (w *wire) SetDeadline(t time.Time) error      { return nil }
func (w *wire) SetReadDeadline(t time.Time) error  { return nil }
func (w *wire) SetWriteDeadline(t time.Time) error { return nil }

func (w *wire) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.flushLocked()
	w.mu.Unlock()
	err := w.conn.Close()
	if w.onClose != nil {
		w.onClose()
	}
	return err
}

func (w *wire) flush() {
	w.mu.Lock()
	w.flushLocked()
	w.mu.Unlock()
}

func (w *wire) flushLocked() {
	if len(w.out) == 0 || w.dead {
		w.out = w.out[:0]
		return
	}
	w.conn.SetWriteDeadline(time.Now().Add(w.srv.timeout))
	if _, err := w.conn.Write(w.out); err != nil {
		w.dead = true
	}
	w.out = w.out[:0]
}

// queueReply adds one complete reply line (without CRLF) to the output. Every reply passes
// here, so soft_bounce is applied here, as Postfix's smtpd_chat_reply does: 5xx becomes 4xx,
// and a 5.X.Y detail code 4.X.Y.
func (w *wire) queueReply(line string) {
	if w.srv.softBounce {
		line = softReply(line)
	}
	w.mu.Lock()
	w.out = append(w.out, line...)
	w.out = append(w.out, '\r', '\n')
	w.mu.Unlock()
}

// softReply turns one 5xx reply line into 4xx, its detail code too.
func softReply(line string) string {
	if len(line) < 3 || line[0] != '5' {
		return line
	}
	b := []byte(line)
	b[0] = '4'
	if len(b) > 5 && b[4] == '5' && b[5] == '.' {
		b[4] = '4'
	}
	return string(b)
}

// Read hands go-smtp the client's input: one command line at a time, or message content.
func (w *wire) Read(p []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			w.srv.log.Warn("smtpd: panic reading from %s: %v", w.client(), r)
			w.dead = true
			w.conn.Close()
			n, err = 0, io.EOF
		}
	}()
	for {
		if len(w.ready) > 0 {
			n = copy(p, w.ready)
			w.ready = w.ready[n:]
			return n, nil
		}
		w.mu.Lock()
		closed := w.closed
		w.mu.Unlock()
		if w.dead || closed {
			return 0, io.EOF
		}
		switch w.mode {
		case modeData, modeChunk:
			return w.readContent(p)
		case modeAuth:
			line, err := w.nextLine()
			if err != nil {
				return 0, w.lost(err)
			}
			w.ready = append(line, '\r', '\n')
			w.mode = modeCmd
			continue
		}
		if len(w.held) > 0 {
			line := w.held
			w.held = nil
			w.command(line)
			continue
		}
		if w.srv.hardErrLimit > 0 && w.errors >= w.srv.hardErrLimit {
			w.queueReply(fmt.Sprintf("421 4.7.0 %s Error: too many errors", w.srv.myhostname))
			w.srv.log.Info("too many errors after %s from %s", w.lastCmd, w.client())
			w.flush()
			w.dead = true
			return 0, io.EOF
		}
		line, err := w.nextLine()
		if err != nil {
			return 0, w.lost(err)
		}
		w.command(line)
	}
}

// nextLine reads one line from the client, without its line ending, truncated at
// line_length_limit (the rest of the line is skipped, as Postfix does).
func (w *wire) nextLine() ([]byte, error) {
	line, _, err := w.readLine(w.srv.lineLimit)
	return line, err
}

// readLine reads one line cut at limit bytes; long tells that it was cut. The whole line
// must arrive within smtpd_timeout, however slowly its bytes trickle in.
func (w *wire) readLine(limit int) (line []byte, long bool, err error) {
	if w.br.Buffered() == 0 {
		w.flush()
	}
	w.conn.SetReadDeadline(time.Now().Add(w.srv.timeout))
	total := 0
	for {
		frag, err := w.br.ReadSlice('\n')
		total += len(frag)
		if room := limit + 2 - len(line); room > 0 { // room for the line end too
			line = append(line, frag[:min(len(frag), room)]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		break
	}
	eol := len(line) - len(trimEOL(line))
	if total-eol > limit {
		long = true
	}
	line = trimEOL(line)
	return line[:min(len(line), limit)], long, nil
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// lost logs the end of a connection the client did not QUIT, and answers a timeout.
func (w *wire) lost(err error) error {
	w.dead = true
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		w.queueReply(fmt.Sprintf("421 4.4.2 %s Error: timeout exceeded", w.srv.myhostname))
		w.dead = false
		w.flush()
		w.dead = true
		w.srv.log.Info("timeout after %s from %s", w.lastCmd, w.client())
	} else {
		w.srv.log.Info("lost connection after %s from %s", w.lastCmd, w.client())
	}
	return io.EOF
}

// readContent passes DATA content or a BDAT chunk through, stopping exactly where go-smtp's
// reader will stop, so that what follows is read as commands again.
func (w *wire) readContent(p []byte) (int, error) {
	if w.br.Buffered() == 0 {
		w.flush()
	}
	w.conn.SetReadDeadline(w.contentDeadline(time.Now()))
	if _, err := w.br.Peek(1); err != nil {
		return 0, w.lost(err)
	}
	buf, _ := w.br.Peek(min(len(p), w.br.Buffered()))
	n := len(buf)
	defer func() { w.dataBytes += int64(n) }()
	if w.mode == modeChunk {
		if int64(n) > w.chunkLeft {
			n = int(w.chunkLeft)
		}
		w.chunkLeft -= int64(n)
		if w.chunkLeft == 0 {
			w.mode = modeCmd
		}
	} else {
		for i := 0; i < n; i++ {
			if w.dataStep(buf[i]) {
				n = i + 1
				w.mode = modeCmd
				w.lastCmd = "END-OF-MESSAGE"
				break
			}
		}
	}
	copy(p, buf[:n])
	w.br.Discard(n)
	return n, nil
}

// contentDeadline bounds a read of message content: smtpd_timeout for this read, and for
// the whole content smtpd_timeout plus the time smtpd_min_data_rate allows for the bytes
// received so far (Postfix's per-request deadline, always on here), so that a client
// trickling a byte at a time cannot hold a session for ever.
func (w *wire) contentDeadline(now time.Time) time.Time {
	d := now.Add(w.srv.timeout)
	if w.srv.minDataRate > 0 {
		total := w.dataStart.Add(w.srv.timeout + time.Duration(w.dataBytes)*time.Second/time.Duration(w.srv.minDataRate))
		if total.Before(d) {
			d = total
		}
	}
	return d
}

// startContent notes the start of DATA content or of a BDAT chunk.
func (w *wire) startContent() {
	w.dataStart, w.dataBytes = time.Now(), 0
}

// go-smtp's dataReader states (data.go): only CRLF "." CRLF ends the content.
const (
	dsBeginLine = iota
	dsDot
	dsDotCR
	dsCR
	dsData
)

// dataStep advances the mirror of go-smtp's end-of-data detector; true at the final LF.
func (w *wire) dataStep(c byte) bool {
	switch w.dataState {
	case dsBeginLine:
		switch c {
		case '.':
			w.dataState = dsDot
		case '\r':
			w.dataState = dsCR
		default:
			w.dataState = dsData
		}
	case dsDot:
		if c == '\r' {
			w.dataState = dsDotCR
		} else {
			w.dataState = dsData
		}
	case dsDotCR:
		if c == '\n' {
			w.dataState = dsBeginLine
			return true
		}
		w.dataState = dsData
	case dsCR:
		if c == '\n' {
			w.dataState = dsBeginLine
		} else {
			w.dataState = dsData
		}
	case dsData:
		if c == '\r' {
			w.dataState = dsCR
		}
	}
	return false
}

// command looks at one client command line and either passes it to go-smtp or answers it.
func (w *wire) command(line []byte) {
	text := string(line)
	word, arg, _ := strings.Cut(strings.TrimLeft(text, " \t"), " ")
	arg = strings.TrimSpace(arg)
	verb := strings.ToUpper(word)
	if strings.TrimSpace(text) == "" {
		w.direct("", "500 5.5.2 Error: bad syntax")
		return
	}
	// Binary junk and header lines are not SMTP; printable punctuation (such as the "*" a
	// client sends to abort an AUTH that has already failed) is merely an unknown command.
	if c := text[0]; c < 0x20 || c >= 0x7f || strings.HasSuffix(word, ":") ||
		verb == "CONNECT" || verb == "GET" || verb == "POST" {
		w.srv.log.Warn("non-SMTP command from %s: %s", w.client(), printable(text, 100))
		w.queueReply("221 2.7.0 Error: I can break rules, too. Goodbye.")
		w.flush()
		w.dead = true
		return
	}
	w.lastCmd = verb
	if w.needTLS(verb) {
		return
	}
	switch verb {
	case "NOOP", "RSET", "VRFY", "ETRN":
		// Past smtpd_junk_command_limit each of these counts as an error, so a client
		// cannot idle for ever on them.
		if w.junk++; w.srv.junkLimit > 0 && w.junk > w.srv.junkLimit {
			w.errors++
		}
	}
	switch verb {
	case "HELO", "EHLO":
		if arg == "" {
			w.direct(strings.ToLower(verb), "501 Syntax: "+verb+" hostname")
			return
		}
		w.heloGiven = true
		w.esmtp = verb == "EHLO"
		w.pass(verb, arg, line)
	case "MAIL", "RCPT":
		if !w.heloSeen {
			// Postfix does not require HELO; go-smtp does. Say it for the client, quietly.
			w.held = append([]byte(nil), line...)
			w.pending = append(w.pending, pend{cmd: "helo", hidden: true})
			w.ready = []byte("HELO " + w.name + "\r\n")
			w.heloSeen = true
			return
		}
		w.bare = false
		if nl, ok := qualifyBare(text, verb); ok {
			w.bare = true
			line = []byte(nl)
		}
		w.pass(verb, arg, line)
	case "DATA", "RSET", "QUIT":
		w.pass(verb, arg, line)
	case "STARTTLS":
		w.starttls(arg)
	case "BDAT":
		w.pass(verb, arg, line)
		if n, ok := bdatSize(arg); ok {
			w.chunkLeft = n
			if n > 0 {
				w.mode = modeChunk
				w.startContent()
			}
		}
	case "NOOP":
		w.direct("noop", "250 2.0.0 Ok")
	case "VRFY":
		switch {
		case w.srv.disableVrfy:
			w.direct("vrfy", "502 5.5.1 VRFY command is disabled")
		case arg == "":
			w.direct("vrfy", "501 5.5.4 Syntax: VRFY address")
		default:
			w.direct("vrfy", "252 2.0.0 "+printable(arg, 200))
		}
	case "AUTH":
		w.authCmd(arg)
	default:
		w.direct("unknown", "500 5.5.2 Error: command not recognized")
	}
}

func (w *wire) pass(verb, arg string, line []byte) {
	if verb == "HELO" || verb == "EHLO" {
		w.heloSeen = true
	}
	w.pending = append(w.pending, pend{cmd: strings.ToLower(verb), arg: arg})
	w.ready = append(append([]byte(nil), line...), '\r', '\n')
}

// direct answers a command without go-smtp.
func (w *wire) direct(cmd, reply string) {
	w.account(cmd, reply)
	w.queueReply(reply)
}

// account counts a final reply for cmd, and errors for the error limits.
func (w *wire) account(cmd, reply string) {
	code, _ := strconv.Atoi(reply[:min(3, len(reply))])
	if cmd != "" {
		c := w.counts[cmd]
		if c == nil {
			c = &[2]int{}
			w.counts[cmd] = c
		}
		c[1]++
		if code > 0 && code < 400 {
			c[0]++
		}
	}
	if code >= 400 {
		w.errors++
		if w.srv.softErrLimit > 0 && w.errors > w.srv.softErrLimit && w.srv.errSleep > 0 {
			w.flush()
			time.Sleep(w.srv.errSleep)
		}
	}
	if (cmd == "data" || cmd == "bdat") && code == 250 {
		w.errors, w.junk = 0, 0
	}
}

// Write receives go-smtp's replies line by line, and queues them in Postfix's words.
func (w *wire) Write(p []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			w.srv.log.Warn("smtpd: panic writing to %s: %v", w.client(), r)
			w.dead = true
			w.conn.Close()
			n, err = len(p), nil
		}
	}()
	w.partial = append(w.partial, p...)
	for {
		i := strings.IndexByte(string(w.partial), '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.partial[:i]), "\r")
		w.partial = w.partial[i+1:]
		w.reply(line)
	}
	return len(p), nil
}

const needRcpt = "503 5.5.1 Error: need RCPT command"

// replyWords are go-smtp's replies in Postfix's words, by command and reply code; a reply
// is rewritten when its text contains match.
var replyWords = map[[2]string]struct{ match, out string }{
	{"mail", "250"}: {"", "250 2.1.0 Ok"},
	{"mail", "552"}: {"Max message size exceeded", "552 5.3.4 Message size exceeds fixed limit"},
	{"mail", "501"}: {"", "501 5.5.4 Syntax: MAIL FROM:<address>"},
	{"rcpt", "250"}: {"", "250 2.1.5 Ok"},
	{"rcpt", "502"}: {"Missing MAIL FROM", "503 5.5.1 Error: need MAIL command"},
	{"rcpt", "501"}: {"", "501 5.5.4 Syntax: RCPT TO:<address>"},
	{"data", "502"}: {"Missing RCPT TO", needRcpt},
	{"data", "501"}: {"", "501 5.5.4 Syntax: DATA"},
	{"rset", "250"}: {"", "250 2.0.0 Ok"},
}

// reply rewrites one reply line of go-smtp's for the command it answers.
func (w *wire) reply(line string) {
	if len(line) < 3 {
		w.queueReply(line)
		return
	}
	code := line[:3]
	final := len(line) < 4 || line[3] == ' '
	text := ""
	if len(line) > 4 {
		text = line[4:]
	}
	if !w.greeted {
		w.greeted = true
		w.queueReply("220 " + w.srv.banner)
		return
	}
	if !final {
		w.multi = append(w.multi, text)
		return
	}
	var pd pend
	if len(w.pending) > 0 {
		pd = w.pending[0]
	}
	multi := w.multi
	w.multi = nil
	out := line
	if r, ok := replyWords[[2]string{pd.cmd, code}]; ok && strings.Contains(text, r.match) {
		out = r.out
	}
	switch {
	case pd.cmd == "helo" && code == "250":
		out = "250 " + w.srv.myhostname
	case pd.cmd == "ehlo" && code == "250":
		w.queueEHLO(append(multi, text))
		w.finish(pd, line)
		return
	case pd.cmd == "data" && code == "354":
		w.queueReply("354 End data with <CR><LF>.<CR><LF>")
		w.mode = modeData
		w.dataState = dsBeginLine
		w.startContent()
		return // DATA is answered again at the end of the content
	case pd.cmd == "data" && code == "502" && out == needRcpt && w.sess != nil && w.sess.rcptTried > 0:
		out = "554 5.5.1 Error: no valid recipients"
	case pd.cmd == "auth" && code == "334":
		w.queueReply(line)
		w.mode = modeAuth
		return
	}
	if pd.hidden {
		w.pending = w.pending[1:]
		return
	}
	w.queueReply(out)
	w.finish(pd, out)
}

func (w *wire) finish(pd pend, out string) {
	if len(w.pending) > 0 {
		w.pending = w.pending[1:]
	}
	w.account(pd.cmd, out)
}

// Postfix's EHLO keyword order (smtpd.c); go-smtp's are re-sorted into it, and VRFY, which
// the wire answers, is added.
var ehloOrder = []string{"PIPELINING", "SIZE", "VRFY", "ETRN", "STARTTLS", "AUTH", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"}

func (w *wire) queueEHLO(lines []string) {
	have := map[string]string{}
	for _, l := range lines[1:] {
		k, _, _ := strings.Cut(l, " ")
		have[strings.ToUpper(k)] = l
	}
	if !w.srv.disableVrfy {
		have["VRFY"] = "VRFY"
	}
	delete(have, "STARTTLS")
	delete(have, "AUTH")
	if w.tlsOffered() {
		have["STARTTLS"] = "STARTTLS"
	}
	if w.authOffered() {
		have["AUTH"] = "AUTH " + saslMechs
	}
	out := []string{w.srv.myhostname}
	for _, k := range ehloOrder {
		if v, ok := have[k]; ok && !w.srv.discardEhlo[k] {
			out = append(out, v)
			if k == "AUTH" && w.srv.brokenAuth {
				out = append(out, "AUTH="+saslMechs)
			}
		}
	}
	for i, l := range out {
		sep := "-"
		if i == len(out)-1 {
			sep = " "
		}
		w.queueReply("250" + sep + l)
	}
}

// stats formats the disconnect line's command counts, as Postfix does.
func (w *wire) stats() string {
	var b strings.Builder
	ok, total := 0, 0
	for _, name := range []string{"helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "bdat", "rset", "noop", "vrfy", "etrn", "quit", "unknown"} {
		c := w.counts[name]
		if c == nil {
			continue
		}
		ok += c[0]
		total += c[1]
		if c[0] == c[1] {
			fmt.Fprintf(&b, " %s=%d", name, c[0])
		} else {
			fmt.Fprintf(&b, " %s=%d/%d", name, c[0], c[1])
		}
	}
	if ok == total && total > 0 {
		fmt.Fprintf(&b, " commands=%d", ok)
	} else {
		fmt.Fprintf(&b, " commands=%d/%d", ok, total)
	}
	return b.String()
}

// qualifyBare adds "@"+bareDomain to a MAIL FROM/RCPT TO address without a domain.
func qualifyBare(line, verb string) (string, bool) {
	prefix := "FROM:"
	if verb == "RCPT" {
		prefix = "TO:"
	}
	_, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimLeft(rest, " \t")
	if len(rest) < len(prefix) || !strings.EqualFold(rest[:len(prefix)], prefix) {
		return "", false
	}
	head := line[:len(line)-len(rest)+len(prefix)]
	tail := strings.TrimLeft(rest[len(prefix):], " \t")
	var a, params string
	if strings.HasPrefix(tail, "<") {
		end := strings.IndexByte(tail, '>')
		if end < 0 {
			return "", false
		}
		a, params = tail[1:end], tail[end+1:]
	} else {
		i := strings.IndexAny(tail, " \t")
		if i < 0 {
			i = len(tail)
		}
		a, params = tail[:i], tail[i:]
	}
	if a == "" || strings.Contains(a, "@") || strings.ContainsAny(a, "\"\\<>()[]:;, \t") {
		return "", false
	}
	return head + "<" + a + "@" + bareDomain + ">" + params, true
}

// bdatSize parses BDAT's arguments as go-smtp does; ok when go-smtp will read the chunk.
func bdatSize(arg string) (int64, bool) {
	f := strings.Fields(arg)
	if len(f) == 0 || len(f) > 2 || len(f) == 2 && !strings.EqualFold(f[1], "LAST") {
		return 0, false
	}
	n, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil {
		return 0, false
	}
	return int64(n), true
}

// printable makes client text safe for a log line or a reply.
func printable(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}
