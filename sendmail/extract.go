package main

import (
	"strings"

	msghdr "postern/pkg/header"
)

// header collects the primary header block as sendmail reads it, for -t. It is tolerant as
// Postfix's is: a header ends at the first empty line or at the first line that is neither a
// "name:" field nor a continuation (package postern/pkg/header); folded fields are joined.
type header struct {
	fields []string // unfolded "Name: value"
	size   int
	limit  int // header_size_limit: fields past it are not collected
	split  msghdr.Splitter
	done   bool
}

// line feeds one input line (without its newline). It returns false once the header has
// ended, from this line on.
func (h *header) line(l string) bool {
	if h.done {
		return false
	}
	switch h.split.Next([]byte(l)) {
	case msghdr.Field:
		h.add(l, false)
		return true
	case msghdr.Continuation:
		h.add(l, true)
		return true
	}
	h.done = true
	return false
}

func (h *header) add(l string, cont bool) {
	h.size += len(l) + 1
	if h.limit > 0 && h.size > h.limit {
		return
	}
	if cont {
		h.fields[len(h.fields)-1] += l
		return
	}
	h.fields = append(h.fields, l)
}

func fieldName(f string) (name, value string) {
	i := strings.IndexByte(f, ':')
	return strings.TrimRight(f[:i], " \t"), f[i+1:]
}

// recipients returns the addresses of the To:, Cc: and Bcc: fields or, when the header has
// any Resent- field, of the Resent-To:, Resent-Cc: and Resent-Bcc: fields only (the message
// is being resent; its original recipients already have it).
func (h *header) recipients() []string {
	resent := false
	for _, f := range h.fields {
		n, _ := fieldName(f)
		if len(n) > 7 && strings.EqualFold(n[:7], "resent-") {
			resent = true
			break
		}
	}
	var out []string
	for _, f := range h.fields {
		n, v := fieldName(f)
		if resent {
			if len(n) <= 7 || !strings.EqualFold(n[:7], "resent-") {
				continue
			}
			n = n[7:]
		}
		if strings.EqualFold(n, "to") || strings.EqualFold(n, "cc") || strings.EqualFold(n, "bcc") {
			out = append(out, parseAddressList(v)...)
		}
	}
	return out
}

// token kinds of the RFC 822 scanner.
const (
	tAtom    = iota // atom, dot-atom or domain literal
	tQuoted         // quoted string, unquoted
	tSpecial        // one of < > , ; : @
)

type token struct {
	kind int
	text string
}

// scan splits an RFC 822 address list into tokens, dropping white space and comments. It
// never fails: an unterminated quote, comment or literal ends at the end of the text.
func scan(s string) []token {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			depth := 0
			for ; i < len(s); i++ {
				if s[i] == '\\' {
					i++
					continue
				}
				if s[i] == '(' {
					depth++
				} else if s[i] == ')' {
					depth--
					if depth == 0 {
						i++
						break
					}
				}
			}
		case c == '"':
			var b strings.Builder
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				if s[i] != '\r' && s[i] != '\n' {
					b.WriteByte(s[i])
				}
			}
			i++
			out = append(out, token{tQuoted, b.String()})
		case strings.IndexByte("<>,;:@", c) >= 0:
			out = append(out, token{tSpecial, s[i : i+1]})
			i++
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				j = len(s) - i - 1
			}
			out = append(out, token{tAtom, s[i : i+j+1]})
			i += j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()\"<>,;:@[", rune(s[j])) {
				j++
			}
			if j == i {
				j++
			}
			out = append(out, token{tAtom, s[i:j]})
			i = j
		}
	}
	return out
}

// parseAddressList returns the addresses of an RFC 822 address list in Postfix's internal
// form (quotes removed), as sendmail takes them from -t headers and from the command line.
// It accepts what real headers contain besides the standard: bare local parts ("a, b"),
// phrases without angle brackets, group syntax ("list: a, b;" and "undisclosed-recipients:;"),
// comments, source routes and unbalanced brackets. Empty addresses ("<>") are dropped.
func parseAddressList(s string) []string {
	var (
		out    []string
		elem   []token // the current element outside <>
		route  []token // inside <>
		angle  bool    // inside <>
		routed bool    // the element had <...>
	)
	flush := func() {
		toks := elem
		if routed {
			toks = route
		}
		if a := join(toks); a != "" {
			out = append(out, a)
		}
		elem, route, angle, routed = elem[:0], route[:0], false, false
	}
	for _, t := range scan(s) {
		if angle {
			switch {
			case t.kind == tSpecial && t.text == ">":
				angle = false
			case t.kind == tSpecial && t.text == ":":
				route = route[:0] // end of a source route <@a,@b:user@c>
			case t.kind == tSpecial && (t.text == "," || t.text == "<"):
			default:
				route = append(route, t)
			}
			continue
		}
		switch {
		case t.kind == tSpecial && t.text == "<":
			angle, routed = true, true
			route = route[:0]
		case t.kind == tSpecial && t.text == ">":
		case t.kind == tSpecial && (t.text == "," || t.text == ";"):
			flush()
		case t.kind == tSpecial && t.text == ":":
			elem = elem[:0] // "group-name:" starts a group
		default:
			if !routed {
				elem = append(elem, t)
			}
		}
	}
	flush()
	return out
}

// join renders an addr-spec's tokens as one string without white space. Line breaks (in
// an unterminated literal) are dropped: they would split a queue record's meaning.
func join(toks []token) string {
	var b strings.Builder
	for _, t := range toks {
		for i := 0; i < len(t.text); i++ {
			if c := t.text[i]; c != '\r' && c != '\n' {
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}
