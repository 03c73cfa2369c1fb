// Package smtpcmd is the grammar of an SMTP server's commands, as Postfix's smtpd reads
// them: a command line split into its verb and argument, the address of MAIL FROM and
// RCPT TO (strict_rfc821_envelopes = no: spaces after the colon and a missing pair of
// brackets are accepted), and their ESMTP parameters (SIZE, BODY, SMTPUTF8, AUTH, and
// RFC 3461's RET, ENVID, NOTIFY and ORCPT with xtext), each refused with Postfix's reply.
// It decides no policy and holds no state. smtpd(8) and sendmail -bs use it, so both
// answer a malformed command alike.
package smtpcmd

import (
	"errors"
	"strconv"
	"strings"
)

// Split takes a command line apart: the verb in upper case and the argument, trimmed.
func Split(line string) (verb, arg string) {
	word, arg, _ := strings.Cut(strings.TrimLeft(line, " \t"), " ")
	return strings.ToUpper(word), strings.TrimSpace(arg)
}

// Errors of Path: ErrSyntax is a command without its "FROM:" or "TO:" and address (Postfix:
// "501 5.5.4 Syntax: MAIL FROM:<address>"), ErrAddress an address that cannot be parsed
// ("501 5.1.7 Bad sender address syntax", "501 5.1.3 Bad recipient address syntax").
var (
	ErrSyntax  = errors.New("syntax error")
	ErrAddress = errors.New("bad address syntax")
)

// Path takes the argument of MAIL ("FROM:<address> PARAM...", prefix "FROM:") or RCPT
// (prefix "TO:") apart. The address comes back in internal form: a source route
// (<@a,@b:u@d>) is dropped and a quoted local part unquoted; "<>" gives "". An address
// without a domain is returned as it is.
func Path(arg, prefix string) (addr string, params []string, err error) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", nil, ErrSyntax
	}
	rest := strings.TrimLeft(arg[len(prefix):], " \t")
	if rest == "" {
		return "", nil, ErrSyntax
	}
	var raw string
	if rest[0] == '<' {
		end := scan(rest[1:], ">")
		if end < 0 {
			return "", nil, ErrAddress
		}
		raw, rest = rest[1:1+end], rest[2+end:]
	} else {
		end := scan(rest, " \t")
		if end < 0 {
			end = len(rest)
		}
		raw, rest = rest[:end], rest[end:]
	}
	addr, ok := internal(raw)
	if !ok {
		return "", nil, ErrAddress
	}
	return addr, strings.Fields(rest), nil
}

// scan finds the first of the bytes in stop outside a quoted string; -1 when there is none.
func scan(s, stop string) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && strings.IndexByte(stop, c) >= 0:
			return i
		}
	}
	return -1
}

// internal parses one envelope address: an optional source route, a local part (a quoted
// string or characters without specials) and an optional "@domain". Control characters
// (but a quoted tab) are refused anywhere, so none reaches a queue file or a log line.
func internal(raw string) (string, bool) {
	if raw == "" {
		return "", true
	}
	if raw[0] == '@' { // source route
		_, after, ok := strings.Cut(raw, ":")
		if !ok {
			return "", false
		}
		raw = after
	}
	var local strings.Builder
	i := 0
	if strings.HasPrefix(raw, `"`) {
		for i = 1; ; i++ {
			if i >= len(raw) {
				return "", false
			}
			c := raw[i]
			if c == '\\' && i+1 < len(raw) {
				i++
				c = raw[i]
			} else if c == '"' {
				i++
				break
			}
			if c < ' ' && c != '\t' || c == 0x7f {
				return "", false
			}
			local.WriteByte(c)
		}
	} else {
		for ; i < len(raw) && raw[i] != '@'; i++ {
			c := raw[i]
			if c <= ' ' || c == 0x7f || strings.IndexByte(`()<>[]:;\,"`, c) >= 0 {
				return "", false
			}
			local.WriteByte(c)
		}
	}
	if i == len(raw) {
		return local.String(), local.Len() > 0
	}
	domain := raw[i:]
	if domain[0] != '@' || local.Len() == 0 || len(domain) == 1 {
		return "", false
	}
	for j := 1; j < len(domain); j++ {
		if c := domain[j]; c <= ' ' || c == 0x7f || c == '<' || c == '>' {
			return "", false
		}
	}
	return local.String() + domain, true
}

// Options are the server's settings that decide which parameters exist.
type Options struct {
	SMTPUTF8 bool // smtputf8_enable, and SMTPUTF8 not discarded from EHLO
	DSN      bool // DSN not discarded from EHLO
}

// RET values, as Postfix's ret_flags queue attribute.
const (
	RetFull = 1
	RetHdrs = 2
)

// NOTIFY bits, as Postfix's notify_flags queue attribute.
const (
	NotifyNever   = 1
	NotifySuccess = 2
	NotifyFailure = 4
	NotifyDelay   = 8
)

// Mail holds MAIL FROM's parameters.
type Mail struct {
	Size  int64
	Body  string // "7BIT", "8BITMIME" or ""
	UTF8  bool
	Ret   int    // RetFull, RetHdrs or 0
	Envid string // decoded
	Auth  string // AUTH=, as given
}

// ParseMail reads MAIL FROM's parameters. A bad one is answered with Postfix's reply,
// which reply holds; it is "" when all are good.
func ParseMail(params []string, o Options) (m Mail, reply string) {
	envid, auth := false, false
	for _, p := range params {
		name, v, hasValue := strings.Cut(p, "=")
		switch name = strings.ToUpper(name); {
		case name == "BODY" && (strings.EqualFold(v, "8BITMIME") || strings.EqualFold(v, "7BIT")):
			m.Body = strings.ToUpper(v)
		case name == "SIZE" && hasValue:
			if !allDigits(v) {
				return m, "501 5.5.4 Bad message size syntax"
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return m, "552 5.3.4 Message size exceeds file system imposed limit"
			}
			m.Size = n
		case name == "SMTPUTF8" && !hasValue && o.SMTPUTF8:
			m.UTF8 = true
		case name == "AUTH" && hasValue:
			if auth {
				return m, "503 5.5.4 Error: multiple AUTH= options"
			}
			auth, m.Auth = true, v
		case name == "RET" && hasValue, name == "ENVID" && hasValue:
			if !o.DSN {
				return m, "501 5.7.1 DSN support is disabled"
			}
			if name == "RET" {
				if m.Ret != 0 || !strings.EqualFold(v, "FULL") && !strings.EqualFold(v, "HDRS") {
					return m, "501 5.5.4 Bad RET parameter syntax"
				}
				m.Ret = RetHdrs
				if strings.EqualFold(v, "FULL") {
					m.Ret = RetFull
				}
				continue
			}
			d, ok := Xtext(v)
			if envid || !ok || !printableTab(d) {
				return m, "501 5.5.4 Bad ENVID parameter syntax"
			}
			envid, m.Envid = true, d
		default:
			return m, "555 5.5.4 Unsupported option: " + visible(p)
		}
	}
	return m, ""
}

// Rcpt holds RCPT TO's parameters.
type Rcpt struct {
	Notify    int    // Notify* bits, 0 when not given
	OrcptType string // ORCPT's address type as given ("rfc822"), "" when not given
	Orcpt     string // ORCPT's address, decoded
}

// ParseRcpt reads RCPT TO's parameters; reply as for ParseMail.
func ParseRcpt(params []string, o Options) (r Rcpt, reply string) {
	for _, p := range params {
		name, v, hasValue := strings.Cut(p, "=")
		name = strings.ToUpper(name)
		if (name == "NOTIFY" || name == "ORCPT") && hasValue && !o.DSN {
			return r, "501 5.7.1 DSN support is disabled"
		}
		switch {
		case name == "NOTIFY" && hasValue:
			n, ok := notify(v)
			if r.Notify != 0 || !ok {
				return r, "501 5.5.4 Error: Bad NOTIFY parameter syntax"
			}
			r.Notify = n
		case name == "ORCPT" && hasValue:
			typ, coded, found := strings.Cut(v, ";")
			a, ok := Xtext(coded)
			if r.OrcptType != "" || !found || typ == "" || !ok || strings.IndexByte(a, 0) >= 0 {
				return r, "501 5.5.4 Error: Bad ORCPT parameter syntax"
			}
			r.OrcptType, r.Orcpt = typ, a
		default:
			return r, "555 5.5.4 Unsupported option: " + visible(p)
		}
	}
	return r, ""
}

var notifyBits = map[string]int{"NEVER": NotifyNever, "SUCCESS": NotifySuccess, "FAILURE": NotifyFailure, "DELAY": NotifyDelay}

// notify reads NOTIFY's value: NEVER alone, or any of SUCCESS, FAILURE, DELAY.
func notify(v string) (int, bool) {
	n := 0
	for _, w := range strings.Split(v, ",") {
		bit := notifyBits[strings.ToUpper(w)]
		if bit == 0 {
			return 0, false
		}
		n |= bit
	}
	return n, n&NotifyNever == 0 || n == NotifyNever
}

// Xtext undoes RFC 3461's xtext: "+XX" is the byte with hex value XX (either case); a '+'
// without two hex digits is malformed.
func Xtext(v string) (string, bool) {
	if !strings.Contains(v, "+") {
		return v, true
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '+' {
			b.WriteByte(v[i])
			continue
		}
		if i+2 >= len(v) {
			return "", false
		}
		n, err := strconv.ParseUint(v[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), true
}

func allDigits(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

// printableTab: printable ASCII and tabs only, as Postfix wants of ENVID.
func printableTab(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' || c > '~') && c != '\t' {
			return false
		}
	}
	return true
}

// visible replaces control characters, for echoing client text in a reply.
func visible(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// MailArg reads MAIL's argument: the sender in internal form ("" for <>) and its
// parameters, or Postfix's reply to a malformed argument.
func MailArg(arg string, o Options) (from string, m Mail, reply string) {
	from, params, err := Path(arg, "FROM:")
	switch err {
	case ErrSyntax:
		return "", m, "501 5.5.4 Syntax: MAIL FROM:<address>"
	case ErrAddress:
		return "", m, "501 5.1.7 Bad sender address syntax"
	}
	m, reply = ParseMail(params, o)
	return from, m, reply
}

// RcptArg reads RCPT's argument as MailArg reads MAIL's; the null address is refused.
func RcptArg(arg string, o Options) (to string, r Rcpt, reply string) {
	to, params, err := Path(arg, "TO:")
	switch {
	case err == ErrSyntax:
		return "", r, "501 5.5.4 Syntax: RCPT TO:<address>"
	case err != nil || to == "":
		return "", r, "501 5.1.3 Bad recipient address syntax"
	}
	r, reply = ParseRcpt(params, o)
	return to, r, reply
}

// Chunk reads BDAT's argument: "SIZE" or "SIZE LAST", the size in digits only.
func Chunk(arg string) (size int64, last, ok bool) {
	f := strings.Fields(arg)
	if len(f) < 1 || len(f) > 2 || !allDigits(f[0]) || len(f) == 2 && !strings.EqualFold(f[1], "LAST") {
		return 0, false, false
	}
	size, err := strconv.ParseInt(f[0], 10, 64)
	return size, len(f) == 2, err == nil
}
