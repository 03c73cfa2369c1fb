// Package header decides where a message's header section ends. It is the one rule that
// cleanup uses when it stores mail and that imapd and pop3d use when they read it back, so
// that what was stored as header is served as header.
//
// The rule is Postfix's (is_header() and the MIME state machine of its cleanup): a line
// belongs to the header when it starts a field or continues one. A field starts with a name
// of printable ASCII other than ':' (bytes 33 to 126), then optional blanks (the obsolete
// "Name : value" form), then ':'. A line that starts with a blank (SP or TAB) continues the
// field before it; with no field before it, it is not header. The header ends at the first
// empty line, the separator, which belongs to neither part, or at the first line that is
// neither a field nor a continuation: that line is the first line of the body and there is
// no separator. So "From sender date" (an mbox From_ line), a name with 8-bit or control
// bytes, a line without a colon and a blank-led first line all end the header.
//
// Only the first Lookahead bytes of a line decide: a name whose colon comes later does not
// start a field. Postfix's cleanup sees no more of a line than that either (its
// line_length_limit), and it lets a reader that holds a bounded prefix of each line decide
// as one that holds the whole line.
package header

import "bytes"

// Lookahead is how much of the start of a line decides what it is.
const Lookahead = 2048

// Kind is what a line is to the header section.
type Kind uint8

const (
	Field        Kind = iota // starts a header field
	Continuation             // continues the field before it
	Separator                // the empty line that ends the header
	Body                     // not header: the header ended before it, without a separator
)

// FieldName returns the length of the field name when line starts a field (without the
// blanks of the obsolete "Name :" form), else 0.
func FieldName(line []byte) int {
	if len(line) > Lookahead {
		line = line[:Lookahead]
	}
	n := 0
	for i, c := range line {
		switch {
		case c == ':':
			return n
		case c == ' ' || c == '\t':
			if n == 0 {
				return 0
			}
		case c < 33 || c > 126:
			return 0
		default:
			if n != i { // a name character after the blanks
				return 0
			}
			n++
		}
	}
	return 0
}

// Classify tells what line is to a header section that has (afterField) or has not yet had a
// field. line is without its line end; a lone CR (what is left of an empty CRLF line) is
// the separator too.
func Classify(line []byte, afterField bool) Kind {
	switch {
	case len(line) == 0 || len(line) == 1 && line[0] == '\r':
		return Separator
	case line[0] == ' ' || line[0] == '\t':
		if afterField {
			return Continuation
		}
		return Body
	case FieldName(line) > 0:
		return Field
	}
	return Body
}

// Splitter follows a header section line by line.
type Splitter struct {
	fields bool // a field has been seen
	done   bool // the header has ended
}

// Next classifies the next line (without its line end; the first Lookahead bytes are
// enough). Once the header has ended every line is Body.
func (s *Splitter) Next(line []byte) Kind {
	if s.done {
		return Body
	}
	k := Classify(line, s.fields)
	switch k {
	case Field:
		s.fields = true
	case Separator, Body:
		s.done = true
	}
	return k
}

// Done tells whether the header has ended.
func (s *Splitter) Done() bool { return s.done }

// End finds the end of the header section in b, the start of a message with LF or CRLF line
// ends. hdr is the offset just past the last header line, body the offset where the body
// begins: past the separator when there is one, else hdr. ok is false when b ends inside
// the header section: more of the message could still be header. With atEOF, b is the whole
// message and a last line without a line end counts; a message that is all header then
// gives hdr = body = len(b).
func End(b []byte, atEOF bool) (hdr, body int, ok bool) {
	var s Splitter
	i := 0
	for i < len(b) {
		j := bytes.IndexByte(b[i:], '\n')
		next := i + j + 1
		if j < 0 {
			if !atEOF {
				return i, i, false
			}
			j, next = len(b)-i, len(b)
		}
		switch s.Next(b[i : i+j]) {
		case Separator:
			return i, next, true
		case Body:
			return i, i, true
		}
		i = next
	}
	return len(b), len(b), atEOF
}

// WithSeparator returns msg (the whole message) as readers that expect an empty line after
// the header see it: msg itself when its header ends at a separator or the message is
// empty, else a copy with the separator put where the header ends, in the line-end style of
// the line before it (CRLF or LF). A last header line without a line end gets one.
func WithSeparator(msg []byte) []byte {
	hdr, body, _ := End(msg, true)
	if body > hdr || len(msg) == 0 {
		return msg
	}
	crlf := crlfFirst(msg)
	if hdr > 0 && msg[hdr-1] == '\n' {
		crlf = hdr >= 2 && msg[hdr-2] == '\r'
	}
	eol := []byte("\n")
	if crlf {
		eol = []byte("\r\n")
	}
	out := make([]byte, 0, len(msg)+4)
	out = append(out, msg[:hdr]...)
	if hdr > 0 && msg[hdr-1] != '\n' {
		out = append(out, eol...) // the header's last line had no line end
	}
	out = append(out, eol...)
	return append(out, msg[hdr:]...)
}

// crlfFirst tells whether the first line of msg ends in CRLF.
func crlfFirst(msg []byte) bool {
	i := bytes.IndexByte(msg, '\n')
	return i > 0 && msg[i-1] == '\r'
}
