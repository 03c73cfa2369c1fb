package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"postern/pkg/deliver"
	"postern/pkg/lock"
	"postern/pkg/queue"
)

// appendLog appends one recipient's entry to the per-message status log logName/ID
// (defer, bounce or trace) in Postfix's format: name=value lines between blank lines, preceded by
// the legacy "<rcpt>: reason" line while backwards_bounce_logfile_compatibility is on. The
// entry is written with one append under an exclusive lock and fsync'd. Callers hold m.mu.
func (q *qmgr) appendLog(logName string, m *message, r *queue.Recipient, rep deliver.Reply, action string) error {
	path := q.q.Path(logName, m.id)
	// Before the file exists, so that the set never misses a log (see logSet).
	q.logs.add(m.id, logKindOf(logName))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0600)
	if errors.Is(err, fs.ErrNotExist) {
		if merr := os.MkdirAll(filepath.Dir(path), 0700); merr == nil {
			f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0600)
		}
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := lock.OFD(f, 10*time.Second); err != nil {
		return err
	}
	if _, err := f.Write(logEntry(r, rep, action, q.oldlogCompat)); err != nil {
		return err
	}
	return f.Sync()
}

// logEntry formats one status log entry (postfix-behaviour.md §3.7).
func logEntry(r *queue.Recipient, rep deliver.Reply, action string, compat bool) []byte {
	st := rep.Status
	var b strings.Builder
	rcpt := r.Addr
	if rcpt == "" {
		rcpt = "<>"
	}
	code := st.Code
	if code == "" {
		code = string(st.Class()) + ".0.0"
	}
	b.WriteString("\n")
	if compat {
		b.WriteString("<" + r.Addr + ">: " + oneLine(st.Text) + "\n")
	}
	b.WriteString("recipient=" + oneLine(rcpt) + "\n")
	if r.Orig != "" && !strings.EqualFold(r.Orig, r.Addr) {
		b.WriteString("original_recipient=" + oneLine(r.Orig) + "\n")
	}
	b.WriteString("offset=" + strconv.FormatInt(r.Offset, 10) + "\n")
	if r.DSNOrig != "" {
		b.WriteString("dsn_orig_rcpt=" + oneLine(r.DSNOrig) + "\n")
	}
	if r.NotifyFlags != "" {
		b.WriteString("notify_flags=" + oneLine(r.NotifyFlags) + "\n")
	}
	b.WriteString("status=" + code + "\n")
	b.WriteString("action=" + action + "\n")
	// The remote reply and host, when an agent gave them, become the notice's
	// Diagnostic-Code and Remote-MTA.
	if rep.DiagType != "" && rep.DiagText != "" {
		b.WriteString("diag_type=" + oneLine(rep.DiagType) + "\n")
		b.WriteString("diag_text=" + oneLine(rep.DiagText) + "\n")
	}
	if rep.MTAType != "" && rep.MTAName != "" {
		b.WriteString("mta_type=" + oneLine(rep.MTAType) + "\n")
		b.WriteString("mta_mname=" + oneLine(rep.MTAName) + "\n")
	}
	b.WriteString("reason=" + oneLine(st.Text) + "\n")
	b.WriteString("\n")
	return []byte(b.String())
}

// oneLine keeps an entry's values on one line whatever an agent sent.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}
