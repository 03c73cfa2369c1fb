package testenv

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Conn is a raw SMTP dialogue, line by line, as with telnet.
type Conn struct {
	t       testing.TB
	c       net.Conn
	r       *bufio.Reader
	timeout time.Duration // per reply; 0 = 60s
}

// SetTimeout bounds the wait for each later reply.
func (c *Conn) SetTimeout(d time.Duration) { c.timeout = d }

// SMTP connects to the instance's SMTP service; the caller reads the
// banner with Expect(220).
func (e *Env) SMTP(t testing.TB) *Conn {
	t.Helper()
	return Dial(t, e.SMTPAddr)
}

// Dial opens a raw dialogue with any SMTP address.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &Conn{t: t, c: c, r: bufio.NewReader(c)}
}

// Send writes line followed by CRLF.
func (c *Conn) Send(line string) {
	c.t.Helper()
	c.SendRaw(line + "\r\n")
}

// SendRaw writes s as it is.
func (c *Conn) SendRaw(s string) {
	c.t.Helper()
	c.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatalf("smtp write: %v", err)
	}
}

// Reply reads one (possibly multi-line) reply and returns its code and its
// lines without the code prefix.
func (c *Conn) Reply() (int, []string, error) {
	d := c.timeout
	if d == 0 {
		d = 60 * time.Second
	}
	c.c.SetReadDeadline(time.Now().Add(d))
	var lines []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return 0, lines, err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			return 0, lines, fmt.Errorf("short reply line %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return 0, lines, fmt.Errorf("bad reply line %q", line)
		}
		rest := ""
		if len(line) > 4 {
			rest = line[4:]
		}
		lines = append(lines, rest)
		if len(line) == 3 || line[3] == ' ' {
			return code, lines, nil
		}
	}
}

// Expect reads a reply, fails the test unless its code is code, and
// returns the last line as "CODE text".
func (c *Conn) Expect(code int) string {
	c.t.Helper()
	got, lines, err := c.Reply()
	if err != nil {
		c.t.Fatalf("smtp: waiting for %d: %v (read %q)", code, err, lines)
	}
	last := fmt.Sprintf("%d %s", got, lines[len(lines)-1])
	if got != code {
		c.t.Fatalf("smtp: want %d, got %q", code, strings.Join(lines, " / "))
	}
	return last
}

// Cmd sends line and expects code.
func (c *Conn) Cmd(line string, code int) string {
	c.t.Helper()
	c.Send(line)
	return c.Expect(code)
}

// Close closes the connection.
func (c *Conn) Close() { c.c.Close() }

// Raw is the underlying connection.
func (c *Conn) Raw() net.Conn { return c.c }

var queuedRE = regexp.MustCompile(`queued as ([0-9A-Za-z]+)`)

// QueueIDOf extracts the queue ID from a "250 2.0.0 Ok: queued as ID" reply.
func QueueIDOf(reply string) string {
	if m := queuedRE.FindStringSubmatch(reply); m != nil {
		return m[1]
	}
	return ""
}

// SendMail submits one message with go-smtp's client and returns its queue
// ID; body is the message with its headers, LF or CRLF line ends.
func (e *Env) SendMail(t testing.TB, from string, to []string, body string) string {
	t.Helper()
	id, err := Submit(e.SMTPAddr, from, to, body)
	if err != nil {
		t.Fatalf("sendmail: %v", err)
	}
	return id
}

// Submit is SendMail for callers without a testing.TB.
func Submit(addr, from string, to []string, body string) (string, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return "", err
	}
	id, err := SubmitOn(c, from, to, body)
	if err != nil {
		return "", err
	}
	c.Quit()
	return id, nil
}

// SubmitOn runs one mail transaction on an open client (the client says
// EHLO by itself before its first command).
func SubmitOn(c *smtp.Client, from string, to []string, body string) (string, error) {
	if err := c.Mail(from, nil); err != nil {
		return "", err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return "", err
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := io.WriteString(w, strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")); err != nil {
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	id := QueueIDOf(resp.StatusText)
	if id == "" {
		return "", fmt.Errorf("no queue ID in %q", resp.StatusText)
	}
	return id, nil
}
