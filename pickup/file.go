package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"postern/pkg/cleanup"
	"postern/pkg/ipc"
	"postern/pkg/queue"
)

// result is what became of one maildrop file.
type result int

const (
	resultDone  result = iota // handed to cleanup (or rejected for good) and removed
	resultSkip                // not for us now (gone, not ready); nothing to remember
	resultRetry               // cleanup could not take it now: keep it for a later try
)

// drop is a validated maildrop file's envelope.
type drop struct {
	uid        int
	mtime      time.Time
	requeued   bool
	time       time.Time // postdrop's T record: the posting time becomes the arrival time
	attrs      ipc.Attrs // envelope attributes
	context    string    // rewrite_context
	fullName   *string
	sender     string
	rcpts      []cleanup.Recipient
	dataOffset int64 // first record after M
	extracted  []cleanup.Recipient
}

// file moves one maildrop file into cleanup. A file that breaks the maildrop format goes to
// corrupt/; one cleanup refuses for good is removed; one it cannot take now stays.
func (p *pickup) file(name string) result {
	path := filepath.Join(p.dir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			p.log.Warn("open %s/%s: %v", queue.Maildrop, name, err)
		}
		return resultSkip
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		p.log.Warn("fstat %s/%s: %v", queue.Maildrop, name, err)
		return resultSkip
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Mode&0700 != 0700 {
		return resultSkip
	}
	uid := int(st.Uid)
	if st.Nlink > 1 {
		// A hard link to somebody else's file: never read it, just drop the name.
		p.log.Warn("%s: uid=%d: file has %d links", name, uid, st.Nlink)
		os.Remove(path)
		return resultDone
	}
	d, err := p.validate(f, uid)
	if err != nil {
		p.corrupt(name, uid, err)
		return resultDone
	}
	d.mtime = time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
	d.requeued = p.ownerUID >= 0 && uid == p.ownerUID && st.Mode&0004 == 0
	id, err := p.send(f, name, d)
	var refused *cleanup.Error
	switch {
	case err == nil:
	case errors.Is(err, queue.ErrMaildrop):
		p.corrupt(name, uid, err)
		return resultDone
	case errors.As(err, &refused) && refused.Permanent():
		p.log.Warn("%s: uid=%d from=<%s>: message rejected by cleanup: %v; removed",
			id, uid, d.sender, refused)
	case errors.As(err, &refused):
		p.log.Warn("%s: uid=%d: cleanup: %v; will retry", name, uid, refused)
		return resultRetry
	default:
		p.log.Warn("%s: uid=%d: %v; will retry", name, uid, err)
		return resultRetry
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		p.log.Error("remove %s/%s: %v", queue.Maildrop, name, err)
	}
	return resultDone
}

// validate reads the whole file once, checking it holds only what a local submission may
// (queue.MaildropCheck), and returns its envelope and extracted recipients.
func (p *pickup) validate(f *os.File, uid int) (*drop, error) {
	d := &drop{uid: uid, context: "local"}
	var check queue.MaildropCheck
	check.Time = true
	rr := queue.NewRecordReader(bufio.NewReaderSize(f, 64<<10), 0)
	var pending cleanup.Recipient // DSN attributes waiting for their R
	for !check.Complete() {
		typ, data, _, err := rr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: no end record", queue.ErrMaildrop)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", queue.ErrMaildrop, err)
		}
		skip, err := check.Check(typ, data)
		if err != nil {
			return nil, err
		}
		if skip {
			n, _, _ := strings.Cut(string(data), "=")
			p.log.Warn("uid=%d: ignoring attribute record: %s", uid, n)
			continue
		}
		switch typ {
		case queue.RecAttr:
			switch n, v, _ := strings.Cut(string(data), "="); n {
			case "rewrite_context":
				d.context = v
			case cleanup.AttrNotify:
				pending.Notify, _ = strconv.Atoi(v) // digits: MaildropAttr checked them
			case cleanup.AttrDSNOrig:
				pending.DSNOrig = v
			default:
				d.attrs = d.attrs.Add(n, v)
			}
		case queue.RecTime:
			d.time, _ = queue.ParseTime(data) // cleanup would ignore a malformed one too
		case queue.RecFullName:
			s := string(data)
			d.fullName = &s
		case queue.RecSender:
			d.sender = string(data)
		case queue.RecRcpt:
			r := pending
			pending = cleanup.Recipient{}
			r.Addr = string(data)
			if d.dataOffset == 0 {
				r.Orig = r.Addr
				d.rcpts = append(d.rcpts, r)
			} else {
				d.extracted = append(d.extracted, r)
			}
		case queue.RecMesg:
			d.dataOffset = rr.Offset()
		}
	}
	if _, _, _, err := rr.Next(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after end record", queue.ErrMaildrop)
	}
	if err := check.Finish(); err != nil {
		return nil, err
	}
	return d, nil
}

// corrupt moves a bad file out of the way, keeping it for the postmaster to look at.
func (p *pickup) corrupt(name string, uid int, why error) {
	p.log.Warn("%s: uid=%d: %v", name, uid, strings.TrimPrefix(why.Error(), "maildrop: "))
	dst := p.q.Path(queue.Corrupt, name)
	// link+unlink rather than rename: never replace a file already saved under that name.
	for i := 0; ; i++ {
		if i > 0 {
			dst = p.q.Path(queue.Corrupt, fmt.Sprintf("%s.%d", name, i))
		}
		err := os.Link(filepath.Join(p.dir, name), dst)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i > 100 {
			p.log.Warn("saving corrupt file %q: %v; removing it", name, err)
			break
		}
	}
	os.Remove(filepath.Join(p.dir, name))
	p.log.Warn("saving corrupt file %q from queue %q to queue %q", name, queue.Maildrop, queue.Corrupt)
}

// send streams the message to cleanup as smtpd does: attributes, sender, recipients, then
// the content behind pickup's own Received: header, then the extracted recipients. The file
// is read a second time for the content, checked again: its owner may have changed it. It
// returns the queue ID and, when cleanup refused the message, a *cleanup.Error.
func (p *pickup) send(f *os.File, name string, d *drop) (string, error) {
	st, err := cleanup.Open(p.cleanupPath, p.timeout)
	if err != nil {
		return "", fmt.Errorf("connect to public/cleanup: %v", err)
	}
	defer st.Abort()
	if !d.time.IsZero() {
		st.Time(d.time)
	}
	st.Attr("rewrite_context", d.context)
	st.Attr("log_message_origin", "local")
	for _, a := range d.attrs {
		st.Attr(a.Name, a.Value)
	}
	if d.fullName != nil {
		st.FullName(*d.fullName)
	}
	st.Sender(d.sender)
	for _, r := range d.rcpts {
		st.Recipient(r)
	}
	if d.requeued {
		p.log.Info("%s: uid=%d from=<%s> orig_id=%s", st.ID(), d.uid, d.sender, name)
	} else {
		p.log.Info("%s: uid=%d from=<%s>", st.ID(), d.uid, d.sender)
	}

	st.Content()
	when := d.mtime
	now := p.now()
	if when.After(now.Add(2 * time.Hour)) {
		when = now
	} else if age := now.Sub(when); age > 24*time.Hour {
		p.log.Warn("%s: message has been queued for %d days", st.ID(), int(age/(24*time.Hour)))
	}
	st.Line([]byte(fmt.Sprintf("Received: by %s (%s, from userid %d)", p.hostname, p.mailName, d.uid)))
	st.Line([]byte(fmt.Sprintf("\tid %s; %s", st.ID(), mailDate(when))))
	if _, err := f.Seek(d.dataOffset, io.SeekStart); err != nil {
		return st.ID(), err
	}
	if err := st.Copy(queue.NewRecordReader(bufio.NewReaderSize(f, 64<<10), d.dataOffset)); err != nil {
		return st.ID(), fmt.Errorf("%w: content changed while reading: %v", queue.ErrMaildrop, err)
	}
	st.Extracted()
	for _, r := range d.extracted {
		st.Recipient(r)
	}
	_, err = st.Close() // the ID is st.ID(), as logged above
	var refused *cleanup.Error
	if err != nil && !errors.As(err, &refused) {
		err = fmt.Errorf("public/cleanup: %v", err)
	}
	return st.ID(), err
}

// mailDate formats t as Postfix's mail_date(): RFC 2822 with a space-padded day and the
// zone name in parentheses.
func mailDate(t time.Time) string {
	return t.Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
}
