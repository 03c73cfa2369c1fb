package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"postern/pkg/getopt"
)

// mode is what this invocation does.
type mode int

const (
	modeEnqueue    mode = iota // -bm, the default: read a message and queue it
	modeMailq                  // -bp, mailq
	modeNewaliases             // -bi, -I, newaliases
	modeFlush                  // -q, -qR, -qI
	modeDaemon                 // -bd, -bl: start the mail system
	modeSMTP                   // -bs
	modeVerify                 // -bv
)

// DSN masks as Postfix's dsn_mask.h; they travel as decimal numbers in notify_flags and
// ret_flags attributes.
const (
	notifyNever   = 1 << 0
	notifySuccess = 1 << 1
	notifyFailure = 1 << 2
	notifyDelay   = 1 << 3
	retFull       = 1 << 0
	retHdrs       = 1 << 1
	traceRecord   = 1 << 10 // DEL_REQ_FLAG_RECORD: -v asks for a delivery report
)

// options is the parsed command line.
type options struct {
	mode       mode
	configDir  string
	sender     string
	senderSet  bool
	fullName   string
	fullSet    bool
	extract    bool // -t
	ignoreDots bool // -i, -oi
	verbose    int
	notify     int
	ret        int
	envid      string
	encoding   string
	remote     bool     // -G: remote rewriting context
	aliasMaps  []string // -oA
	site, qid  string   // -qR, -qI
	rcpts      []string
}

// usageError makes sendmail exit EX_USAGE with its text.
type usageError struct{ text string }

func (e *usageError) Error() string { return e.text }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// takesArg lists the option letters of Postfix's getopt string
// "A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx" that take a value.
const takesArg = "ABCFLNORVXbefhopqr"

// optstring is Postfix's, with -q's argument optional (a bare -q flushes the queue).
const optstring = "A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q::tvx"

// parseArgs parses the command line after the program name. Options end at "--" or at the
// first argument that is not an option (Postfix's getopt does not permute); the rest are
// recipients. prog is argv[0]'s base name: invoked as mailq or newaliases sendmail becomes
// that command.
func parseArgs(prog string, argv []string) (*options, error) {
	o := &options{}
	switch filepath.Base(prog) {
	case "mailq":
		o.mode = modeMailq
	case "newaliases":
		o.mode = modeNewaliases
	}
	rcpts, err := getopt.Parse(argv, optstring, func(c byte, val string) error {
		if strings.IndexByte(takesArg, c) < 0 {
			return o.flag(c)
		}
		if c == 'q' && val == "" {
			// A bare -q is "process the queue now" (getopt would take the next word).
			o.mode = modeFlush
			return nil
		}
		return o.option(c, val)
	})
	if err != nil {
		var ge *getopt.Error
		if errors.As(err, &ge) {
			return nil, &usageError{ge.Error()}
		}
		return nil, err
	}
	o.rcpts = append([]string{}, rcpts...)
	return o, o.check()
}

// flag handles an option without a value.
func (o *options) flag(c byte) error {
	switch c {
	case 'G':
		o.remote = true
	case 'I':
		o.mode = modeNewaliases
	case 'i':
		o.ignoreDots = true
	case 'n':
		return usagef("-%c option not supported", c)
	case 't':
		o.extract = true
	case 'v':
		o.verbose++
	case 'U', 'c', 'm', 'x':
		// Ignored for compatibility.
	}
	return nil
}

// option handles an option with its value.
func (o *options) option(c byte, v string) error {
	if v == "" && (c == 'b' || c == 'o' || c == 'q') {
		v = " " // an empty value: no sub-option letter
	}
	switch c {
	case 'B':
		switch strings.ToUpper(v) {
		case "8BITMIME":
			o.encoding = "8bit"
		case "7BIT":
			o.encoding = "7bit"
		default:
			return usagef("-B option needs 8BITMIME or 7BIT")
		}
	case 'C':
		o.configDir = v
	case 'F':
		o.fullName, o.fullSet = v, true
	case 'N':
		m, err := parseNotify(v)
		if err != nil {
			return err
		}
		o.notify = m
	case 'R':
		switch strings.ToLower(v) {
		case "full":
			o.ret = retFull
		case "hdrs":
			o.ret = retHdrs
		default:
			return usagef("-R option needs full or hdrs")
		}
	case 'V':
		o.envid = v
	case 'X':
		// -XV (VERP) is accepted and has no effect yet; -X logfile is ignored as in Postfix.
	case 'b':
		switch v[0] {
		case 'd', 'l':
			o.mode = modeDaemon
		case 'h', 'H', 'm':
			if v[0] == 'm' {
				o.mode = modeEnqueue
			}
		case 'i':
			o.mode = modeNewaliases
		case 'p':
			o.mode = modeMailq
		case 's':
			o.mode = modeSMTP
		case 'v':
			o.mode = modeVerify
		default:
			return usagef("unsupported: -b%c", v[0])
		}
	case 'f', 'r':
		o.sender, o.senderSet = v, true
	case 'o':
		switch v[0] {
		case 'A':
			if v[1:] != "" {
				o.aliasMaps = append(o.aliasMaps, v[1:])
			}
		case 'i':
			o.ignoreDots = true
		}
	case 'q':
		switch {
		case v[0] >= '0' && v[0] <= '9':
			// -q<interval> only means something to a daemon; -bd -q30m just starts the
			// system, and a lone -q<interval> flushes once.
			if o.mode != modeDaemon {
				o.mode = modeFlush
			}
		case v[0] == 'R':
			if v[1:] == "" {
				return usagef("-qR requires site name")
			}
			o.site, o.mode = v[1:], modeFlush
		case v[0] == 'I':
			if v[1:] == "" {
				return usagef("-qI requires queue id")
			}
			o.qid, o.mode = v[1:], modeFlush
		default:
			return usagef("-q%c is not implemented", v[0])
		}
	case 'A', 'L', 'O', 'e', 'h', 'p':
		// Ignored for compatibility.
	}
	return nil
}

// parseNotify parses -N: "never" or a comma list of success, delay, failure.
func parseNotify(v string) (int, error) {
	m := 0
	for _, w := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		switch strings.ToLower(w) {
		case "never":
			m |= notifyNever
		case "success":
			m |= notifySuccess
		case "delay":
			m |= notifyDelay
		case "failure":
			m |= notifyFailure
		default:
			return 0, usagef("bad -N option value: %s", v)
		}
	}
	if m == 0 || m&notifyNever != 0 && m != notifyNever {
		return 0, usagef("bad -N option value: %s", v)
	}
	return m, nil
}

// check rejects option combinations Postfix's sendmail rejects.
func (o *options) check() error {
	if o.extract && o.mode != modeEnqueue {
		if o.mode == modeVerify {
			return usagef("-t option cannot be used with -bv")
		}
		return usagef("-t can be used only in delivery mode")
	}
	switch o.mode {
	case modeFlush:
		if len(o.rcpts) > 0 {
			if o.site != "" {
				return usagef("flush site requires no recipient")
			}
			return usagef("flush queue requires no recipient")
		}
	case modeDaemon:
		if len(o.rcpts) > 0 {
			return usagef("daemon mode requires no recipient")
		}
	}
	return nil
}
