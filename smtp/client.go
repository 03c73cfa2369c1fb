package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"postern/pkg/ipc"
	"postern/pkg/printable"
)

// The SMTP client side is written here on plain connections rather than with go-smtp's
// client: that one cannot start TLS on a session it already greeted (it would send a
// first EHLO as "localhost"), and a delivery agent needs a deadline per stage and the
// remote reply text exactly as sent.

const (
	maxReplyLine  = 4096 // longer reply lines are cut
	maxReplyLines = 100  // more lines end the session as a protocol error
)

// reply is one server response.
type reply struct {
	code  int
	lines []string // each as sent, with its "250-" / "250 " prefix
}

// text joins the lines with spaces, as Postfix logs multi-line replies.
func (r reply) text() string { return strings.Join(r.lines, " ") }

// class is 2, 3, 4 or 5.
func (r reply) class() int { return r.code / 100 }

// dsn is the enhanced status code at the start of the reply text when it matches the
// reply's class, else X.0.0.
func (r reply) dsn() string {
	def := strconv.Itoa(r.class()) + ".0.0"
	if len(r.lines) == 0 || len(r.lines[0]) < 5 {
		return def
	}
	f, _, _ := strings.Cut(r.lines[0][4:], " ")
	parts := strings.Split(f, ".")
	if len(parts) != 3 || parts[0] != strconv.Itoa(r.class()) {
		return def
	}
	for _, p := range parts[1:] {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 999 || len(p) > 3 {
			return def
		}
	}
	return f
}

// errProtocol is a reply that is not SMTP.
var errProtocol = errors.New("malformed server reply")

// conn is one SMTP connection (plain or after STARTTLS).
type conn struct {
	nc net.Conn
	r  *bufio.Reader
	w  *bufio.Writer
}

func newConn(nc net.Conn) *conn {
	return &conn{nc: nc, r: bufio.NewReaderSize(nc, maxReplyLine), w: bufio.NewWriterSize(ipc.IdleConn{Conn: nc}, 32<<10)}
}

// read reads one reply within timeout.
func (c *conn) read(timeout time.Duration) (reply, error) {
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	var r reply
	for {
		line, err := c.readLine()
		if err != nil {
			return r, err
		}
		if len(line) < 3 {
			return r, errProtocol
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || code < 200 || code > 599 || r.code != 0 && code != r.code {
			return r, errProtocol
		}
		r.code = code
		r.lines = append(r.lines, line)
		if len(line) == 3 || line[3] == ' ' {
			return r, nil
		}
		if line[3] != '-' {
			return r, errProtocol
		}
		if len(r.lines) >= maxReplyLines {
			return r, errProtocol
		}
	}
}

// readLine returns one line without its CR LF, cut at maxReplyLine bytes and with
// control characters replaced.
func (c *conn) readLine() (string, error) {
	line, err := c.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		kept := string(line)
		for err == bufio.ErrBufferFull {
			_, err = c.r.ReadSlice('\n')
		}
		if err != nil {
			return "", err
		}
		return printable.Except(kept, '_', "\t"), nil
	}
	if err != nil {
		return "", err
	}
	line = bytes.TrimRight(line, "\r\n")
	return printable.Except(string(line), '_', "\t"), nil
}

// cmd sends one command and reads its reply.
func (c *conn) cmd(timeout time.Duration, format string, args ...any) (reply, error) {
	c.nc.SetWriteDeadline(time.Now().Add(timeout))
	fmt.Fprintf(c.w, format+"\r\n", args...)
	if err := c.w.Flush(); err != nil {
		return reply{}, err
	}
	return c.read(timeout)
}

// writeData sends the message content with dot-stuffing and CR LF line ends, then the
// final dot. Each write gets xfer to complete.
func (c *conn) writeData(content io.Reader, xfer time.Duration) error {
	c.w.Reset(ipc.IdleConn{Conn: c.nc, Timeout: xfer}) // a slow but moving transfer is not cut
	defer c.w.Reset(ipc.IdleConn{Conn: c.nc})
	br := bufio.NewReaderSize(content, 64<<10)
	atStart := true
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if atStart && chunk[0] == '.' {
				c.w.WriteByte('.')
			}
			if chunk[len(chunk)-1] == '\n' {
				body := chunk[:len(chunk)-1]
				body = bytes.TrimSuffix(body, []byte{'\r'})
				c.w.Write(body)
				c.w.WriteString("\r\n")
				atStart = true
			} else {
				c.w.Write(chunk)
				atStart = false
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return &contentError{err}
		}
	}
	if !atStart {
		c.w.WriteString("\r\n")
	}
	c.w.WriteString(".\r\n")
	return c.w.Flush()
}

// contentError is a failure to read the queue file, as opposed to a network failure.
type contentError struct{ err error }

func (e *contentError) Error() string { return e.err.Error() }
func (e *contentError) Unwrap() error { return e.err }

// parseEHLO reads the extension keywords of an EHLO reply: upper-case keyword to its
// parameters.
func parseEHLO(r reply) map[string]string {
	ext := map[string]string{}
	for _, l := range r.lines[1:] {
		if len(l) < 5 {
			continue
		}
		kw, param, _ := strings.Cut(l[4:], " ")
		ext[strings.ToUpper(kw)] = strings.TrimSpace(param)
	}
	return ext
}
