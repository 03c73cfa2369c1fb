package main

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
)

// The not-authenticated state is handled here rather than by go-imap, so
// that the process holding root never runs more than this small parser,
// and the logged-in connection can be handed whole to a process running
// as the user.

const (
	maxLine    = 8192 // a pre-login command line
	maxLiteral = 4096 // a user name or password literal
)

var (
	errLineTooLong = errors.New("line too long")
	errSyntax      = errors.New("syntax error")
)

// readLine reads one CRLF (or LF) terminated line without the terminator.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", errLineTooLong
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		s := strings.TrimSuffix(string(b), "\n")
		return strings.TrimSuffix(s, "\r"), nil
	}
}

// cmdReader parses the arguments of one command line, fetching literals
// ("{n}" then CRLF and n bytes; "{n+}" without the continuation request).
type cmdReader struct {
	line string
	r    *bufio.Reader
	cont func() error // sends "+ Ready for literal data"
}

func (c *cmdReader) skipSP() bool {
	if strings.HasPrefix(c.line, " ") {
		c.line = c.line[1:]
		return true
	}
	return false
}

func (c *cmdReader) atEnd() bool { return c.line == "" }

// atom reads an atom (tags and command names).
func (c *cmdReader) atom() string {
	i := 0
	for i < len(c.line) {
		ch := c.line[i]
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte("(){%*\"\\]", ch) >= 0 {
			break
		}
		i++
	}
	a := c.line[:i]
	c.line = c.line[i:]
	return a
}

// astring reads an atom, a quoted string or a literal.
func (c *cmdReader) astring() (string, error) {
	if c.line == "" {
		return "", errSyntax
	}
	switch c.line[0] {
	case '"':
		var b strings.Builder
		for i := 1; i < len(c.line); i++ {
			ch := c.line[i]
			switch ch {
			case '\\':
				i++
				if i >= len(c.line) || (c.line[i] != '\\' && c.line[i] != '"') {
					return "", errSyntax
				}
				b.WriteByte(c.line[i])
			case '"':
				c.line = c.line[i+1:]
				return b.String(), nil
			default:
				b.WriteByte(ch)
			}
		}
		return "", errSyntax
	case '{':
		end := strings.IndexByte(c.line, '}')
		if end < 0 || end != len(c.line)-1 {
			return "", errSyntax
		}
		spec := c.line[1:end]
		sync := !strings.HasSuffix(spec, "+")
		n, err := strconv.Atoi(strings.TrimSuffix(spec, "+"))
		if err != nil || n < 0 {
			return "", errSyntax
		}
		if n > maxLiteral {
			return "", errLineTooLong
		}
		if sync {
			if err := c.cont(); err != nil {
				return "", err
			}
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return "", err
		}
		rest, err := readLine(c.r)
		if err != nil {
			return "", err
		}
		c.line = rest
		return string(buf), nil
	}
	a := c.atom()
	if a == "" {
		return "", errSyntax
	}
	return a, nil
}
