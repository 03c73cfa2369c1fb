package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"postern/pkg/ipc"
	"postern/pkg/maildir"
	"postern/pkg/mbox"
	"postern/pkg/printable"
	"postern/pkg/queue"
	"postern/pkg/runas"
)

// job is everything the final write needs, decided by local as root and
// carried out with the recipient's identity. It travels to a helper as
// JSON; the queue file travels with it as a descriptor.
type job struct {
	Kind      string   // kindCommand, kindMaildir, kindMbox
	User      string   // for texts
	Home      string   // checked with stat(2) as the user when CheckHome
	CheckHome bool     //
	Path      string   // mailbox file or Maildir directory
	Sender    string   // envelope sender ("" = <>)
	Prepend   []string // Return-Path, X-Original-To, Delivered-To
	Offset    int64    // content_offset in the queue file

	// mbox
	DotLock, Fcntl, DotLockMayFail bool
	LockAttempts                   int
	LockDelay, StaleLock           time.Duration
	SizeLimit                      int64
	StrictOwner                    bool
	UID                            int // the recipient, for strict ownership
	ChownTo, ChownGID              int // hand a new mailbox to this uid/gid (root-written spool); -1 none

	// command
	Command   string
	Shell     string // local_command_shell
	Env       []string
	Dir       string
	TimeLimit time.Duration
}

// result is a job's outcome: an RFC 3463 code, the text for the log and
// the DSN, and warnings for local to log (a helper does not log).
type result struct {
	Code     string
	Text     string
	Warnings []string
}

func fail(code, format string, a ...any) result {
	return result{Code: code, Text: fmt.Sprintf(format, a...)}
}

// run carries out j with identity uid/gid. setuid(2) in Go changes every
// thread of the process (go-stack.md §8.2), so a root local never
// switches identity as a whole. A Maildir delivery is written on a thread
// of local's running as the recipient (pkg/runas.Threads: setfsuid,
// setfsgid, setgroups and no capabilities, on that thread alone) and made
// durable by group commit (maildirAs); mbox files and commands go to a
// helper process running with the recipient's credentials (helper.go;
// doc.go, "Security", says why). A non-root local (tests, demos) can only
// write as itself, so it works in-process when the recipient is itself
// and defers otherwise.
func (s *server) run(j *job, qf *os.File, uid, gid int) result {
	mode := s.mode
	if mode == modeAuto {
		switch {
		case j.Kind == kindMaildir && (s.euid == 0 || uid == s.euid):
			mode = modeThread
		case s.euid == 0:
			mode = modeServer
		case uid == s.euid:
			mode = modeInProcess
		}
	}
	switch mode {
	case modeInProcess:
		return runJob(j, qf)
	case modeThread:
		return s.maildirAs(j, qf, runas.Identity{UID: uid, GID: gid})
	}
	if s.euid != 0 && (uid != s.euid || gid != os.Getegid()) {
		return fail("4.3.0", "cannot deliver as user %s: insufficient privileges", j.User)
	}
	blob, err := json.Marshal(j)
	if err != nil {
		return fail("4.3.0", "internal error: %v", err)
	}
	if len(blob) > maxJob {
		r := fail("4.3.0", "delivery as user %s failed", j.User)
		r.Warnings = []string{fmt.Sprintf("delivery job for %s too large (%d bytes)", j.User, len(blob))}
		return r
	}
	return s.runHelper(j, blob, qf, uid, gid)
}

// maildirAs delivers a Maildir job as id: the writes on id's thread
// (s.threads), the flushes shared with the deliveries finishing at the
// same moment (s.commit; pkg/maildir.Committer has the power-loss
// argument). Success is reported only after the second flush, when the
// file's data, inode and new/ entry are on disk. A local killed in the
// middle leaves at most a tmp/ file, as a killed Postfix local.
func (s *server) maildirAs(j *job, qf *os.File, id runas.Identity) result {
	var p *maildir.Pending
	var res result
	// The whole write in one function on the user's thread: nothing in it
	// hands work to another goroutine (pkg/runas.Threads).
	err := s.threads.Do(id, func() error {
		if j.CheckHome {
			if _, err := os.Stat(j.Home); err != nil {
				res = fail("4.3.0", "cannot access home directory %s: %s", j.Home, printable.Strerror(err))
				return nil
			}
		}
		var err error
		p, err = maildir.Write(j.Path, j.Prepend, queue.ContentReader(qf, j.Offset), maildir.Options{Commit: s.commit})
		if err != nil {
			res = maildirFailure(err, id.UID, id.GID)
		}
		return nil
	})
	if err != nil {
		r := fail("4.3.0", "delivery as user %s failed", j.User)
		r.Warnings = []string{fmt.Sprintf("delivery thread for uid %d gid %d: %v", id.UID, id.GID, err)}
		return r
	}
	if p == nil {
		return res
	}
	defer p.Close()
	synced := func() bool {
		if err := s.commit.Sync(p); err != nil {
			res = fail("4.3.0", "maildir delivery failed: error writing message: %s", printable.Strerror(err))
			s.threads.Do(id, func() error { p.Abort(); return nil })
			return false
		}
		return true
	}
	// Flush 1: data and inode, before the file is visible in new/.
	if !synced() {
		return res
	}
	s.threads.Do(id, func() error {
		if _, err := p.Publish(); err != nil {
			res = maildirFailure(err, id.UID, id.GID)
		}
		return nil
	})
	if res.Code != "" {
		return res
	}
	// Flush 2: the new/ entry, before the delivery is reported.
	if !synced() {
		return res
	}
	return result{Code: "2.0.0", Text: "delivered to maildir"}
}

// resultFromAttrs reads a helper's reply; who names it in a
// warning when the reply makes no sense.
func resultFromAttrs(a ipc.Attrs, user, who string) result {
	r := result{Code: a.Get("dsn"), Text: a.Get("reason")}
	if !validCode(r.Code) {
		r = fail("4.3.0", "delivery as user %s failed", user)
		r.Warnings = []string{fmt.Sprintf("%s: reply without a valid status for %s", who, user)}
		return r
	}
	for _, x := range a {
		if x.Name == "warning" {
			r.Warnings = append(r.Warnings, x.Value)
		}
	}
	return r
}

// childEnv is the environment of a delivery helper: nothing of local's
// own beyond the time zone, which the From_ line depends on.
func childEnv() []string {
	env := []string{"PATH=/usr/bin:/bin"}
	if tz, ok := os.LookupEnv("TZ"); ok {
		env = append(env, "TZ="+tz)
	}
	return env
}

func validCode(c string) bool {
	return len(c) >= 5 && len(c) <= 11 && (c[0] == '2' || c[0] == '4' || c[0] == '5') && c[1] == '.'
}

// runJob performs the write with whatever identity this process has.
func runJob(j *job, qf *os.File) result {
	if j.CheckHome {
		if _, err := os.Stat(j.Home); err != nil {
			return fail("4.3.0", "cannot access home directory %s: %s", j.Home, printable.Strerror(err))
		}
	}
	content := queue.ContentReader(qf, j.Offset)
	switch j.Kind {
	case kindCommand:
		return runCommand(j, content)
	case kindMaildir:
		return deliverMaildir(j, content)
	case kindMbox:
		return deliverMbox(j, content)
	}
	return fail("4.3.0", "delivery child: unknown kind %q", j.Kind)
}

func deliverMbox(j *job, content io.Reader) result {
	var existed bool
	if j.ChownTo >= 0 {
		_, err := os.Lstat(j.Path)
		existed = err == nil
	}
	err := mbox.Append(j.Path, j.Sender, j.Prepend, content, mbox.Options{
		DotLock: j.DotLock, Fcntl: j.Fcntl, DotLockMayFail: j.DotLockMayFail,
		LockAttempts: j.LockAttempts, LockDelay: j.LockDelay, StaleLock: j.StaleLock,
		SizeLimit: j.SizeLimit, StrictOwnership: j.StrictOwner, UID: j.UID,
	})
	var r result
	if err != nil {
		var me *mbox.Error
		code, text := "4.3.0", err.Error()
		if errors.As(err, &me) {
			code, text = me.Status, me.Text
		}
		r = fail(code, "cannot update mailbox %s for user %s. %s", j.Path, j.User, text)
		if strings.Contains(text, "is not owned by recipient") {
			r.Warnings = append(r.Warnings, `specify "strict_mailbox_ownership = no" to ignore mailbox ownership mismatch`)
		}
		return r
	}
	// Written as root into a root-only spool: a new mailbox goes to its
	// user, as Postfix's mbox_open(chown_uid).
	if j.ChownTo >= 0 && !existed {
		if err := os.Lchown(j.Path, j.ChownTo, j.ChownGID); err != nil {
			r.Warnings = append(r.Warnings, fmt.Sprintf("chown %s: %v", j.Path, err))
		}
	}
	r.Code, r.Text = "2.0.0", "delivered to mailbox"
	return r
}

func deliverMaildir(j *job, content io.Reader) result {
	_, err := maildir.Deliver(j.Path, j.Prepend, content, maildir.Options{})
	if err == nil {
		return result{Code: "2.0.0", Text: "delivered to maildir"}
	}
	return maildirFailure(err, os.Geteuid(), os.Getegid())
}

// maildirFailure is the result of a failed Maildir delivery by uid/gid.
func maildirFailure(err error, uid, gid int) result {
	var me *maildir.Error
	code, text := "4.3.0", err.Error()
	if errors.As(err, &me) {
		code, text = me.Status, me.Text
	}
	r := fail(code, "maildir delivery failed: %s", text)
	if errors.Is(err, syscall.EACCES) {
		r.Warnings = append(r.Warnings,
			fmt.Sprintf("maildir access problem for UID/GID=%d/%d: %s", uid, gid, text),
			"perhaps you need to create the maildirs in advance")
	}
	return r
}

// capBuffer keeps the first max bytes written to it and discards the rest,
// so a misbehaving command cannot make us buffer without bound.
type capBuffer struct {
	bytes.Buffer
	max int
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		if len(p) <= room {
			c.Buffer.Write(p)
		} else {
			c.Buffer.Write(p[:room])
		}
	}
	return len(p), nil
}
