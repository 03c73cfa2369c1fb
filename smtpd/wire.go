package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// The wire is the client's connection as the command loop (session.go) sees it: command
// lines cut at line_length_limit, each of which must arrive whole within smtpd_timeout;
// message content (DATA up to its end line, BDAT chunks by count) within smtpd_timeout per
// read plus the time smtpd_min_data_rate allows; and replies, queued and sent in one write
// once the client's pipelined input is used up, as Postfix does. It also holds what belongs
// to the connection rather than to the SMTP dialogue: the client's name and address, TLS,
// and the authenticated user.
type wire struct {
	conn net.Conn
	br   *bufio.Reader
	srv  *server

	name, addr string     // client name ("unknown" when not verified) and address text
	ip         netip.Addr // invalid for non-IP transports

	out  []byte // replies not yet sent
	bufs *wireBufs
	dead bool // lost, or to be closed: nothing more is read or sent

	tlsActive  bool
	saslUser   string // authenticated user; "" when not
	saslMethod string

	lastCmd   string    // for "lost connection after X"
	content   bool      // reading message content: contentDeadline bounds each read
	lineDL    time.Time // the command line's deadline; zero until its first read
	readDL    time.Time // the read deadline last set on conn
	dataStart time.Time // start of the DATA content or BDAT chunk being read
	dataBytes int64
}

// wireReader is what br reads from: it sets the read deadline just before each read of the
// connection, not before each line taken from br. Most lines are already buffered (a
// pipelined command group, the ~60 lines of a 4 KiB message in one or two reads), and a
// deadline set is a clock read and a runtime timer update.
type wireReader struct{ w *wire }

func (r wireReader) Read(p []byte) (int, error) {
	w := r.w
	var dl time.Time
	if w.content {
		dl = w.contentDeadline(time.Now())
	} else {
		if w.lineDL.IsZero() {
			w.lineDL = time.Now().Add(w.srv.timeout)
		}
		dl = w.lineDL
	}
	if !dl.Equal(w.readDL) {
		w.conn.SetReadDeadline(dl)
		w.readDL = dl
	}
	return w.conn.Read(p)
}

// wireBufs are a connection's buffers, reused across connections: a new 64 KiB input buffer
// per connection was an allocation to zero and later collect, and the reply buffer grew
// anew in every session.
type wireBufs struct {
	br  *bufio.Reader
	out []byte
}

var bufPool = sync.Pool{New: func() any {
	return &wireBufs{br: bufio.NewReaderSize(nil, 64<<10), out: make([]byte, 0, 1024)}
}}

func (w *wire) getBufs() {
	w.bufs = bufPool.Get().(*wireBufs)
	w.br, w.out = w.bufs.br, w.bufs.out[:0]
	w.br.Reset(wireReader{w})
}

// release gives the buffers back when the connection is done.
func (w *wire) release() {
	if w.bufs == nil {
		return
	}
	w.br.Reset(nil)
	if cap(w.out) <= 64<<10 { // a reply buffer grown by a flood of pipelined junk is dropped
		w.bufs.out = w.out[:0]
	}
	bufPool.Put(w.bufs)
	w.bufs, w.br, w.out = nil, nil, nil
}

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
	w := &wire{conn: c, srv: s, name: "unknown", addr: "unknown", lastCmd: "CONNECT"}
	w.getBufs()
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

// reply queues one reply line (without CRLF). Every reply passes here, so soft_bounce is
// applied here, as Postfix's smtpd_chat_reply does: 5xx becomes 4xx, and a 5.X.Y detail
// code 4.X.Y.
func (w *wire) reply(line string) {
	if w.srv.softBounce {
		line = softReply(line)
	}
	w.out = append(append(w.out, line...), '\r', '\n')
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

// flush sends the queued replies.
func (w *wire) flush() {
	if len(w.out) > 0 && !w.dead {
		w.conn.SetWriteDeadline(time.Now().Add(w.srv.timeout))
		if _, err := w.conn.Write(w.out); err != nil {
			w.dead = true
		}
	}
	w.out = w.out[:0]
}

// readLine reads one line, without its line ending, cut at limit bytes (the rest of the
// line is skipped, as Postfix does); long tells that it was cut. The whole line must arrive
// within smtpd_timeout, however slowly its bytes trickle in. Queued replies go out first
// when the client has sent nothing more.
func (w *wire) readLine(limit int) (line []byte, long bool, err error) {
	if w.br.Buffered() == 0 {
		w.flush()
	}
	w.content, w.lineDL = false, time.Time{} // the line's time starts at its first read
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
	line = trimEOL(line)
	return line[:min(len(line), limit)], total-eol > limit, nil
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

// lost ends a connection the client did not QUIT: a timeout is answered and logged as
// Postfix does, anything else logged as a lost connection.
func (w *wire) lost(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		w.reply(fmt.Sprintf("421 4.4.2 %s Error: timeout exceeded", w.srv.myhostname))
		w.flush()
		w.srv.log.Info("timeout after %s from %s", w.lastCmd, w.client())
	} else {
		w.srv.log.Info("lost connection after %s from %s", w.lastCmd, w.client())
	}
	w.dead = true
}

// readData passes DATA content to put, line by line (long lines in pieces), dot-unstuffed
// and without the end line, and returns at the end of the content. Only <CR><LF>.<CR><LF>
// ends it: a line after a bare LF is not at the start of a line in SMTP's sense, so neither
// "\n.\n" nor "\n.\r\n" ends the content (the SMTP smuggling fix; TestBareLF). The
// connection is lost (and logged) when err is not nil.
func (w *wire) readData(put func([]byte)) error {
	w.startContent()
	lineStart, afterCRLF := true, true
	var last byte = '\n'
	for {
		if w.br.Buffered() == 0 {
			w.flush()
		}
		frag, err := w.br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			w.lost(err)
			return err
		}
		w.dataBytes += int64(len(frag))
		whole := err == nil
		if lineStart && afterCRLF && frag[0] == '.' {
			if string(frag) == ".\r\n" {
				return nil
			}
			frag = frag[1:]
		}
		if whole {
			n := len(frag)
			afterCRLF = n >= 2 && frag[n-2] == '\r' || n == 1 && last == '\r'
		}
		if len(frag) > 0 {
			last = frag[len(frag)-1]
		}
		lineStart = whole
		put(frag)
	}
}

// readChunk passes the n bytes of a BDAT chunk to put.
func (w *wire) readChunk(n int64, put func([]byte)) error {
	w.startContent()
	for n > 0 {
		if w.br.Buffered() == 0 {
			w.flush()
		}
		if _, err := w.br.Peek(1); err != nil {
			w.lost(err)
			return err
		}
		buf, _ := w.br.Peek(int(min(n, int64(w.br.Buffered()))))
		put(buf)
		w.br.Discard(len(buf))
		n -= int64(len(buf))
		w.dataBytes += int64(len(buf))
	}
	return nil
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
	w.content, w.dataStart, w.dataBytes = true, time.Now(), 0
}
