package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"postern/pkg/deliver"
	"postern/pkg/queue"
)

// Bits of the trace_flags attribute (Postfix's deliver_request.h) and of a recipient's
// notify_flags (dsn_mask.h) that ask for a delivery report.
const (
	traceRecord   = 1 << 10 // DEL_REQ_FLAG_RECORD: sendmail -v
	notifyNever   = 1 << 0
	notifySuccess = 1 << 1
)

// traceAttr is the queue file attribute that carries the trace flags.
const traceAttr = "trace_flags"

// traced tells whether the sender asked for a report of the first delivery attempt.
func traced(env *queue.Message) bool {
	v, err := strconv.Atoi(env.Attrs[traceAttr])
	return err == nil && v&traceRecord != 0
}

// wantsSuccess tells whether a recipient asked for a DSN on success (NOTIFY=SUCCESS).
func wantsSuccess(r *queue.Recipient) bool {
	v, err := strconv.Atoi(r.NotifyFlags)
	return err == nil && v&notifySuccess != 0 && v&notifyNever == 0
}

// trace appends a recipient's outcome to trace/ID when the sender will get a report of it:
// every outcome of a traced message (sendmail -v), and the successful delivery of a
// recipient that asked NOTIFY=SUCCESS. A report is a courtesy: a failure to write the entry
// is logged and never holds up the message.
func (q *qmgr) trace(m *message, r *queue.Recipient, rep deliver.Reply) {
	var action string
	switch rep.Status.Class() {
	case '2':
		if !m.traced && !wantsSuccess(r) {
			return
		}
		action = "delivered"
		if rep.MTAName != "" {
			// Handed to another MTA: its DSN, if any, says what became of it.
			action = "relayed"
		}
	case '5':
		action = "failed"
	default:
		action = "delayed"
	}
	if !m.traced && action != "delivered" && action != "relayed" {
		return
	}
	m.mu.Lock()
	err := q.appendLog(queue.Trace, m, r, rep, action)
	m.mu.Unlock()
	if err != nil {
		q.log.Warn("%s: append trace log: %v", m.id, err)
	}
}

// flushTrace has the bounce service turn trace/ID into a delivery status report to the
// sender (request=trace, "Mail Delivery Status Report", for sendmail -v; request=success,
// "Successful Mail Delivery Report", for NOTIFY=SUCCESS); the service removes the log. It
// runs at the end of every round, before the file leaves active/. Once a traced message's
// report is out its trace flag is cleared, so that only the first attempt is reported.
//
// A failure is only logged: the message goes on as if no report had been asked for. The
// log is kept while the message stays queued (the next round tries again, then reporting
// that round too), and removed with the message.
func (q *qmgr) flushTrace(m *message) {
	if !q.hasLog(queue.Trace, m.id) {
		return
	}
	request := "success"
	if m.traced {
		request = "trace"
	}
	if err := q.bounceRequest(m, request); err != nil {
		q.log.Warn("%s: delivery status notification: %v", m.id, err)
		return
	}
	q.logs.drop(m.id, logTrace) // the service removed it
	if m.traced {
		if err := clearTraceFlags(m.path); err != nil {
			q.log.Warn("%s: clear trace flags: %v", m.id, err)
		}
	}
}

// clearTraceFlags overwrites the digits of the queue file's trace_flags attribute with
// zeros in place (the record keeps its length, and 0 asks for nothing), and syncs the file.
func clearTraceFlags(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	prefix := traceAttr + "="
	var contentEnd int64 // where the content ends, from the size record
	rr := queue.NewRecordReader(bufio.NewReaderSize(f, 32<<10), 0)
	for {
		typ, data, off, err := rr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch typ {
		case queue.RecSize:
			fs := strings.Fields(string(data))
			if len(fs) >= 2 {
				size, _ := strconv.ParseInt(fs[0], 10, 64)
				start, _ := strconv.ParseInt(fs[1], 10, 64)
				if size > 0 && start > 0 {
					contentEnd = start + size
				}
			}
		case queue.RecMesg:
			if contentEnd > rr.Offset() {
				// Jump over the content: the flags are envelope attributes.
				if _, err := f.Seek(contentEnd, io.SeekStart); err != nil {
					return err
				}
				rr = queue.NewRecordReader(bufio.NewReaderSize(f, 32<<10), contentEnd)
			}
		case queue.RecAttr:
			if !strings.HasPrefix(string(data), prefix) {
				break
			}
			val := data[len(prefix):]
			zeros := []byte(strings.Repeat("0", len(val)))
			if _, err := strconv.Atoi(string(val)); err != nil || len(val) == 0 {
				return fmt.Errorf("%w: bad %s record at offset %d", queue.ErrCorrupt, traceAttr, off)
			}
			if _, err := f.WriteAt(zeros, rr.Offset()-int64(len(val))); err != nil {
				return err
			}
			return f.Sync()
		case queue.RecEnd:
			return nil
		}
	}
}
