package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"postern/pkg/config"
	"postern/pkg/passwd"
	"postern/pkg/queue"
)

// submission is one message on its way to postdrop.
type submission struct {
	cfg    *config.Config
	o      *options
	uid    int
	sender string
	who    string // "sender(uid)", the prefix of Postfix's enqueue diagnostics
	warn   func(format string, args ...any)
}

// enqueue reads the message on in and hands it to postdrop as a record stream. It returns
// nil only once postdrop has committed the maildrop file.
func enqueue(cfg *config.Config, o *options, in io.Reader, warn func(string, ...any)) error {
	s := &submission{cfg: cfg, o: o, uid: os.Getuid(), warn: warn}
	u, uerr := passwd.LookupUID(s.uid)
	if o.senderSet {
		var malformed bool
		s.sender, malformed = parseSender(o.sender)
		if malformed {
			warn("-f option specified malformed sender: %s", o.sender)
		}
	} else {
		if uerr != nil {
			return exitf(exOSErr, "no login name found for user ID %d", s.uid)
		}
		s.sender = u.Name
	}
	s.who = fmt.Sprintf("%s(%d)", s.sender, s.uid)
	fullName := o.fullName
	if !o.fullSet {
		if n := os.Getenv("NAME"); n != "" {
			fullName = n
		} else if uerr == nil {
			fullName = u.FullName()
		}
	}
	var rcpts []string
	for _, a := range o.rcpts {
		rcpts = append(rcpts, parseAddressList(a)...)
	}
	if len(rcpts) == 0 && !o.extract {
		return exitf(exUsage, "%s: Recipient addresses must be specified on the command line or via the -t option", s.who)
	}

	path, err := findProgram(cfg, "postdrop")
	if err != nil {
		return exitf(exUnavailable, "%s: unable to execute postdrop: %v", s.who, err)
	}
	cmd := exec.Command(path, "-r", "-c", cfg.Dir())
	cmd.Stderr = os.Stderr
	pipe, err := cmd.StdinPipe()
	if err != nil {
		return exitf(exOSErr, "%s: pipe: %v", s.who, err)
	}
	if err := cmd.Start(); err != nil {
		return exitf(exUnavailable, "%s: unable to execute %s: %v", s.who, path, err)
	}
	w := bufio.NewWriterSize(pipe, 64<<10)
	abort := func(e error) error {
		// Closing the pipe before the E record makes postdrop discard the file.
		pipe.Close()
		cmd.Wait()
		return e
	}

	rec := func(typ byte, data string) { queue.WriteRecord(w, typ, []byte(data)) }
	ctx := "local"
	if o.remote {
		ctx = "remote"
	}
	rec(queue.RecAttr, "rewrite_context="+ctx)
	if o.encoding != "" {
		rec(queue.RecAttr, "encoding="+o.encoding)
	}
	if o.envid != "" {
		rec(queue.RecAttr, "envelope_id="+o.envid)
	}
	if o.ret != 0 {
		rec(queue.RecAttr, "ret_flags="+strconv.Itoa(o.ret))
	}
	if o.verbose > 0 {
		rec(queue.RecAttr, "trace_flags="+strconv.Itoa(traceRecord))
	}
	if fullName != "" {
		rec(queue.RecFullName, fullName)
	}
	rec(queue.RecSender, s.sender)
	recipient := func(a string) {
		if o.notify != 0 {
			rec(queue.RecAttr, "notify_flags="+strconv.Itoa(o.notify))
		}
		rec(queue.RecRcpt, a)
	}
	for _, a := range rcpts {
		recipient(a)
	}
	rec(queue.RecMesg, "")

	h := &header{limit: int(cfg.Int("header_size_limit"))}
	if err := s.copyContent(in, w, h); err != nil {
		return abort(err)
	}
	rec(queue.RecXtra, "")
	if o.extract {
		extracted := h.recipients()
		for _, a := range extracted {
			recipient(a)
		}
		if len(rcpts)+len(extracted) == 0 {
			return abort(exitf(exUsage, "%s: No recipient addresses found in message header", s.who))
		}
	}
	rec(queue.RecEnd, "")
	werr := w.Flush()
	pipe.Close()
	if err := cmd.Wait(); err != nil || werr != nil {
		return exitf(exTempFail, "%s: queue file write error", s.who)
	}
	return nil
}

// copyContent copies the message text as N and L records: CR LF becomes LF, leading
// "From " lines are skipped, a line "." ends the input unless -i, and lines longer than
// line_length_limit are split into L pieces. With -t the header block is fed to h.
func (s *submission) copyContent(in io.Reader, w *bufio.Writer, h *header) error {
	limit := int(s.cfg.Int("line_length_limit"))
	if limit <= 0 {
		limit = 2048
	}
	maxSize := s.cfg.Int("message_size_limit")
	br := bufio.NewReaderSize(in, 64<<10)
	var (
		size     int64
		pending  []byte
		long     bool // pieces of the current line went out already
		skipFrom = true
	)
	tooBig := func() error { return exitf(exUnavailable, "%s: message file too big", s.who) }
	for {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			pending = append(pending, chunk...)
			// Keep at least the last two bytes back: they may be the CR of a CR LF.
			for len(pending) > limit+1 {
				queue.WriteRecord(w, queue.RecCont, pending[:limit])
				size += int64(limit)
				pending = append(pending[:0], pending[limit:]...)
				long = true
			}
			if maxSize > 0 && size > maxSize {
				return tooBig()
			}
			continue
		}
		if err != nil && err != io.EOF {
			return exitf(exDataErr, "%s: error reading input: %v", s.who, err)
		}
		line := chunk
		if len(pending) > 0 {
			pending = append(pending, chunk...)
			line = pending
		}
		if len(line) == 0 && err == io.EOF {
			break
		}
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
		}
		if !long {
			if !s.o.ignoreDots && len(line) == 1 && line[0] == '.' {
				break
			}
			if skipFrom && (bytes.HasPrefix(line, []byte("From ")) || bytes.HasPrefix(line, []byte(">From "))) {
				pending = pending[:0]
				continue
			}
		}
		skipFrom = false
		if s.o.extract && !h.done {
			if long {
				h.done = true
			} else {
				h.line(string(line))
			}
		}
		size += int64(len(line)) + 1
		if maxSize > 0 && size > maxSize {
			return tooBig()
		}
		for len(line) > limit {
			queue.WriteRecord(w, queue.RecCont, line[:limit])
			line = line[limit:]
		}
		queue.WriteRecord(w, queue.RecNorm, line)
		pending, long = pending[:0], false
		if err == io.EOF {
			break
		}
	}
	return nil
}

// parseSender takes the -f value apart as an RFC 822 address list: "" and "<>" are the null
// sender, only the first address counts, and malformed says there was more than one.
func parseSender(v string) (sender string, malformed bool) {
	t := strings.TrimSpace(v)
	if t == "" || t == "<>" {
		return "", false
	}
	a := parseAddressList(t)
	if len(a) == 0 {
		return "", false
	}
	return a[0], len(a) > 1
}

// findProgram locates a Postern command: next to this executable first (a build tree or
// test harness), then in command_directory, then in daemon_directory.
func findProgram(cfg *config.Config, name string) (string, error) {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, dirOf(exe))
	}
	dirs = append(dirs, cfg.Get("command_directory"), cfg.Get("daemon_directory"))
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := d + "/" + name
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0111 != 0 {
			return p, nil
		}
	}
	return "", errors.New(name + ": No such file or directory")
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return "."
}
