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

// rcpt is a recipient record with the attributes that preceded it.
type rcpt struct {
	attrs []string
	addr  string
}

// drop is a validated maildrop file's envelope.
type drop struct {
	uid        int
	mtime      time.Time
	requeued   bool
	time       string   // postdrop's T record: the posting time becomes the arrival time
	attrs      []string // envelope attributes, name=value
	context    string   // rewrite_context
	fullName   *string
	sender     string
	rcpts      []rcpt
	dataOffset int64 // first record after M
	extracted  []rcpt
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
	status, err := p.send(f, name, d)
	if err != nil {
		if errors.Is(err, queue.ErrMaildrop) {
			p.corrupt(name, uid, err)
			return resultDone
		}
		p.log.Warn("%s: uid=%d: %v; will retry", name, uid, err)
		return resultRetry
	}
	switch {
	case status.code == 0:
	case status.code >= 500 && status.code < 600:
		p.log.Warn("%s: uid=%d from=<%s>: message rejected by cleanup: %s; removed",
			status.id, uid, d.sender, status)
	default:
		p.log.Warn("%s: uid=%d: cleanup: %s; will retry", name, uid, status)
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
	var pending []string // attributes waiting for their R
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
			a := string(data)
			switch n, v, _ := strings.Cut(a, "="); n {
			case "rewrite_context":
				d.context = v
			case "notify_flags", "dsn_orig_rcpt":
				pending = append(pending, a)
			default:
				d.attrs = append(d.attrs, a)
			}
		case queue.RecTime:
			d.time = string(data)
		case queue.RecFullName:
			s := string(data)
			d.fullName = &s
		case queue.RecSender:
			d.sender = string(data)
		case queue.RecRcpt:
			r := rcpt{attrs: pending, addr: string(data)}
			pending = nil
			if d.dataOffset == 0 {
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

// cleanupStatus is cleanup's answer.
type cleanupStatus struct {
	id     string
	code   int
	dsn    string
	reason string
}

func (s cleanupStatus) String() string {
	return strings.TrimSpace(fmt.Sprintf("%d %s %s", s.code, s.dsn, s.reason))
}

// send streams the message to cleanup as smtpd does: attributes, sender, recipients, then
// the content behind pickup's own Received: header, then the extracted recipients. The file
// is read a second time for the content, checked again: its owner may have changed it.
func (p *pickup) send(f *os.File, name string, d *drop) (cleanupStatus, error) {
	var st cleanupStatus
	c, err := ipc.Dial(p.cleanupPath, 10*time.Second)
	if err != nil {
		return st, fmt.Errorf("connect to public/cleanup: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(p.timeout))
	hello, err := ipc.Read(c.R)
	if err != nil {
		return st, fmt.Errorf("read from public/cleanup: %v", err)
	}
	st.id = hello.Get("queue_id")
	if st.id == "" {
		return st, errors.New("public/cleanup sent no queue_id")
	}
	w := bufio.NewWriterSize(c, 64<<10)
	rec := func(typ byte, data string) { queue.WriteRecord(w, typ, []byte(data)) }

	if d.time != "" {
		rec(queue.RecTime, d.time)
	}
	rec(queue.RecAttr, "rewrite_context="+d.context)
	rec(queue.RecAttr, "log_message_origin=local")
	for _, a := range d.attrs {
		rec(queue.RecAttr, a)
	}
	if d.fullName != nil {
		rec(queue.RecFullName, *d.fullName)
	}
	rec(queue.RecSender, d.sender)
	for _, r := range d.rcpts {
		for _, a := range r.attrs {
			rec(queue.RecAttr, a)
		}
		rec(queue.RecOrig, r.addr)
		rec(queue.RecRcpt, r.addr)
	}
	if d.requeued {
		p.log.Info("%s: uid=%d from=<%s> orig_id=%s", st.id, d.uid, d.sender, name)
	} else {
		p.log.Info("%s: uid=%d from=<%s>", st.id, d.uid, d.sender)
	}

	rec(queue.RecMesg, "")
	when := d.mtime
	now := p.now()
	if when.After(now.Add(2 * time.Hour)) {
		when = now
	} else if age := now.Sub(when); age > 24*time.Hour {
		p.log.Warn("%s: message has been queued for %d days", st.id, int(age/(24*time.Hour)))
	}
	rec(queue.RecNorm, fmt.Sprintf("Received: by %s (%s, from userid %d)", p.hostname, p.mailName, d.uid))
	rec(queue.RecNorm, fmt.Sprintf("\tid %s; %s", st.id, mailDate(when)))
	if _, err := f.Seek(d.dataOffset, io.SeekStart); err != nil {
		return st, err
	}
	rr := queue.NewRecordReader(bufio.NewReaderSize(f, 64<<10), d.dataOffset)
	for {
		typ, data, _, err := rr.Next()
		if err != nil {
			return st, fmt.Errorf("%w: content changed while reading: %v", queue.ErrMaildrop, err)
		}
		if typ == queue.RecXtra {
			break
		}
		if typ != queue.RecNorm && typ != queue.RecCont {
			return st, fmt.Errorf("%w: content changed while reading", queue.ErrMaildrop)
		}
		queue.WriteRecord(w, typ, data)
	}
	rec(queue.RecXtra, "")
	for _, r := range d.extracted {
		for _, a := range r.attrs {
			rec(queue.RecAttr, a)
		}
		rec(queue.RecRcpt, r.addr)
	}
	rec(queue.RecEnd, "")
	if err := w.Flush(); err != nil {
		return st, fmt.Errorf("write to public/cleanup: %v", err)
	}
	reply, err := ipc.Read(c.R)
	if err != nil {
		return st, fmt.Errorf("read from public/cleanup: %v", err)
	}
	st.code, err = strconv.Atoi(reply.Get("status"))
	if err != nil {
		return st, fmt.Errorf("public/cleanup: bad status %q", reply.Get("status"))
	}
	st.dsn, st.reason = reply.Get("dsn"), reply.Get("reason")
	return st, nil
}

// mailDate formats t as Postfix's mail_date(): RFC 2822 with a space-padded day and the
// zone name in parentheses.
func mailDate(t time.Time) string {
	return t.Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
}
