package main

import (
	"bufio"
	"errors"
	"strings"
)

// maxLine bounds a command line. RFC 2449 allows 255 octets; an AUTH PLAIN
// initial response with a long password needs more.
const maxLine = 4096

var errLineTooLong = errors.New("command line too long")

// command is one parsed client line.
type command struct {
	verb string   // upper-cased
	args []string // split on spaces and tabs
	rest string   // everything after the verb and one space (PASS takes it whole)
}

// parseCommand splits a line (without its line end) as Courier does:
// fields separated by spaces, tabs and CRs, the verb case-insensitive.
// Lines with NUL or other control characters but tab are refused.
func parseCommand(line string) (command, bool) {
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < ' ' && c != '\t' || c == 0x7f {
			return command{}, false
		}
	}
	f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(f) == 0 {
		return command{}, false
	}
	rest := line[strings.Index(line, f[0])+len(f[0]):]
	if rest != "" {
		rest = rest[1:]
	}
	return command{verb: strings.ToUpper(f[0]), args: f[1:], rest: rest}, true
}

// readLine reads one line ended by LF (a CR before it is dropped). A line
// longer than maxLine is consumed and reported as errLineTooLong.
func readLine(r *bufio.Reader) (string, error) {
	chunk, err := r.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return readLong(r, append([]byte(nil), chunk...))
	case err != nil:
		return "", err
	case len(chunk) > maxLine+2:
		return "", errLineTooLong
	}
	// The whole line was in the buffer: one string, no copy before it.
	chunk = chunk[:len(chunk)-1]
	if len(chunk) > 0 && chunk[len(chunk)-1] == '\r' {
		chunk = chunk[:len(chunk)-1]
	}
	return string(chunk), nil
}

// readLong finishes a line longer than r's buffer, b being its start.
func readLong(r *bufio.Reader, b []byte) (string, error) {
	tooLong := len(b) > maxLine+2
	if tooLong {
		b = nil
	}
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			b = append(b, chunk...)
			if len(b) > maxLine+2 {
				tooLong, b = true, nil
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		break
	}
	if tooLong {
		return "", errLineTooLong
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}
