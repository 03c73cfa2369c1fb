// Package ipc is the request/reply transport between Postern's daemons.
//
// A message is an attribute list: lines `name=value\n` ended by an empty line, the plain-text
// shape of Postfix's attr_print_plain. Values are escaped so a line never breaks inside a value:
// `%` becomes `%25`, LF `%0A`, CR `%0D`. Names are `[A-Za-z0-9_]`. A list is bounded
// (MaxBlock bytes, MaxAttrs attributes) so a hostile or broken peer cannot exhaust memory.
//
// A trigger is a single byte written to a service socket (`W` wake up, `I` scan incoming, `D`
// scan deferred, `A` ignore deferred times, `F` forget dead destinations), as master's wakeups
// and cleanup's qmgr notifications are in Postfix.
package ipc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Limits on one attribute list.
const (
	MaxBlock = 1 << 20
	MaxAttrs = 1024
)

// Attr is one name=value pair.
type Attr struct{ Name, Value string }

// Attrs is an ordered attribute list.
type Attrs []Attr

// Get returns the first value of name, or "".
func (a Attrs) Get(name string) string {
	for _, x := range a {
		if x.Name == name {
			return x.Value
		}
	}
	return ""
}

// Has tells whether name is present.
func (a Attrs) Has(name string) bool {
	for _, x := range a {
		if x.Name == name {
			return true
		}
	}
	return false
}

// Int returns name as an integer (0 when absent or malformed).
func (a Attrs) Int(name string) int64 {
	n, _ := strconv.ParseInt(a.Get(name), 10, 64)
	return n
}

// Float returns name as a float (0 when absent or malformed).
func (a Attrs) Float(name string) float64 {
	f, _ := strconv.ParseFloat(a.Get(name), 64)
	return f
}

// Add appends a pair and returns the list.
func (a Attrs) Add(name, value string) Attrs { return append(a, Attr{name, value}) }

// ErrMalformed reports a list that breaks the format or the limits.
var ErrMalformed = errors.New("ipc: malformed attribute list")

var escaper = strings.NewReplacer("%", "%25", "\n", "%0A", "\r", "%0D")

func unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func validName(n string) bool {
	if n == "" || len(n) > 100 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// Encode renders a list, including its terminating empty line.
func Encode(a Attrs) []byte {
	var b []byte
	for _, x := range a {
		b = append(b, x.Name...)
		b = append(b, '=')
		b = append(b, escaper.Replace(x.Value)...)
		b = append(b, '\n')
	}
	return append(b, '\n')
}

// Write sends a list in one write.
func Write(w io.Writer, a Attrs) error {
	for _, x := range a {
		if !validName(x.Name) {
			return fmt.Errorf("ipc: bad attribute name %q", x.Name)
		}
	}
	_, err := w.Write(Encode(a))
	return err
}

// Read reads one list. io.EOF means the peer closed cleanly before a new list began.
func Read(r *bufio.Reader) (Attrs, error) {
	var a Attrs
	total := 0
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return nil, ErrMalformed
		}
		if err != nil {
			if err == io.EOF && len(line) == 0 && len(a) == 0 {
				return nil, io.EOF
			}
			if err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		total += len(line)
		if total > MaxBlock {
			return nil, ErrMalformed
		}
		if len(line) == 1 {
			return a, nil
		}
		s := string(line[:len(line)-1])
		i := strings.IndexByte(s, '=')
		if i <= 0 || !validName(s[:i]) || len(a) >= MaxAttrs {
			return nil, ErrMalformed
		}
		a = append(a, Attr{s[:i], unescape(s[i+1:])})
	}
}

// Conn is a client connection carrying request/reply exchanges.
type Conn struct {
	net.Conn
	R *bufio.Reader
}

// NewConn wraps an accepted or dialed connection.
func NewConn(c net.Conn) *Conn { return &Conn{Conn: c, R: bufio.NewReaderSize(c, 64<<10)} }

// Dial connects to a unix stream socket.
func Dial(path string, timeout time.Duration) (*Conn, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, err
	}
	return NewConn(c), nil
}

// Request sends a list and reads the reply list, within timeout (0 = none).
func (c *Conn) Request(req Attrs, timeout time.Duration) (Attrs, error) {
	if timeout > 0 {
		c.SetDeadline(time.Now().Add(timeout))
		defer c.SetDeadline(time.Time{})
	}
	if err := Write(c.Conn, req); err != nil {
		return nil, err
	}
	return Read(c.R)
}

// Trigger connects to a unix socket and writes the trigger bytes (e.g. "W").
func Trigger(path string, what string, timeout time.Duration) error {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	_, err = c.Write([]byte(what))
	return err
}
