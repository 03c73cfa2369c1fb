package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"

	"postern/pkg/config"
	"postern/pkg/header"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/printable"
	"postern/pkg/queue"
)

// server holds main.cf's settings; master restarts bounce on reload.
type server struct {
	q   *queue.Queue
	log *maillog.Logger
	now func() time.Time
	// post submits a notice through cleanup and returns its queue ID (a fake in tests).
	post func(sender, rcpt string, lines []string) (string, error)

	hostname      string
	myorigin      string
	mailName      string
	sizeLimit     int64
	notify        map[string]bool // notify_classes
	bounceRcpt    string          // bounce_notice_recipient
	twoBounceRcpt string          // 2bounce_notice_recipient
	delayRcpt     string          // delay_notice_recipient
	doubleBounce  string          // double_bounce_sender@myorigin
	daemon        string          // MAILER-DAEMON@myorigin
	fromStandard  bool            // header_from_format = standard
	warnTime      time.Duration
	lifetime      time.Duration
	timeout       time.Duration
}

func newServer(cfg *config.Config, log *maillog.Logger) (*server, error) {
	qdir := cfg.Get("queue_directory")
	if qdir == "" {
		return nil, errors.New("queue_directory is not set")
	}
	origin := cfg.MyOrigin()
	s := &server{
		q:             queue.New(qdir),
		log:           log,
		now:           time.Now,
		hostname:      cfg.Get("myhostname"),
		myorigin:      origin,
		mailName:      cfg.Get("mail_name"),
		sizeLimit:     cfg.Int("bounce_size_limit"),
		notify:        map[string]bool{},
		bounceRcpt:    cfg.Get("bounce_notice_recipient"),
		twoBounceRcpt: cfg.Get("2bounce_notice_recipient"),
		delayRcpt:     cfg.Get("delay_notice_recipient"),
		doubleBounce:  qualify(cfg.Get("double_bounce_sender"), origin),
		daemon:        qualify("MAILER-DAEMON", origin),
		fromStandard:  cfg.Get("header_from_format") != "obsolete",
		warnTime:      cfg.Duration("delay_warning_time"),
		lifetime:      cfg.Duration("maximal_queue_lifetime"),
		timeout:       cfg.Duration("ipc_timeout"),
	}
	if s.mailName == "" {
		s.mailName = "Postfix"
	}
	if s.timeout <= 0 || s.timeout > 10*time.Minute {
		s.timeout = 10 * time.Minute
	}
	for _, c := range cfg.List("notify_classes") {
		s.notify[strings.ToLower(c)] = true
	}
	c := &cleanupClient{path: s.q.Socket("public", "cleanup"), timeout: s.timeout,
		lineLimit: int(max(cfg.Int("line_length_limit"), 80))}
	s.post = c.post
	return s, nil
}

func qualify(a, origin string) string {
	if a == "" || strings.Contains(a, "@") || origin == "" {
		return a
	}
	return a + "@" + origin
}

// handle serves one client connection: requests until EOF, each answered with status=0 when
// the notice was queued (or there was nothing to send), else status=1 and a reason, and
// the log is kept so the client can try again.
func (s *server) handle(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(s.timeout))
		req, err := ipc.Read(r)
		if err != nil {
			if err != io.EOF && !errors.Is(err, net.ErrClosed) {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					s.log.Warn("read request: %v", err)
				}
			}
			return
		}
		reply := ipc.Attrs{{Name: "status", Value: "0"}}
		if err := s.serve(req); err != nil {
			s.log.Warn("%s: %v", req.Get("queue_id"), err)
			reply = ipc.Attrs{{Name: "status", Value: "1"}, {Name: "reason", Value: err.Error()}}
		}
		c.SetWriteDeadline(time.Now().Add(s.timeout))
		if err := ipc.Write(c, reply); err != nil {
			return
		}
	}
}

// serve dispatches one request.
func (s *server) serve(req ipc.Attrs) error {
	id, qname := req.Get("queue_id"), req.Get("queue_name")
	if !queue.ValidID(id) {
		return fmt.Errorf("bad queue_id %q", id)
	}
	if qname == "" {
		qname = queue.Active
	}
	if !queue.IsQueueName(qname) {
		return fmt.Errorf("bad queue_name %q", qname)
	}
	switch req.Get("request") {
	case "flush", "bounce":
		return s.notifyFrom(failure, queue.Bounce, qname, id, req)
	case "warn", "delay":
		return s.notifyFrom(delay, queue.Defer, qname, id, req)
	case "trace":
		return s.report(verify, qname, id, req)
	case "success":
		return s.report(success, qname, id, req)
	}
	return fmt.Errorf("unknown request %q", req.Get("request"))
}

// message is what a notice needs from the original queue file.
type origMsg struct {
	sender  string
	envid   string
	ret     string
	arrival time.Time
	size    int64
	lines   []string // nil: unreadable
	headers bool     // lines hold only the header block
	msgID   string
}

// notifyFrom turns the status log logName/ID into notices: to the sender, or to the
// postmaster for a null sender, plus postmaster copies as notify_classes asks. A failure
// notice's log is removed once everything needed was queued.
func (s *server) notifyFrom(k kind, logName, qname, id string, req ipc.Attrs) error {
	entries, err := s.readLog(logName, id)
	if errors.Is(err, fs.ErrNotExist) {
		// Nothing to report: an earlier request did it already.
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		if k == failure {
			s.removeLog(logName, id)
		}
		return nil
	}

	m := s.readOriginal(qname, id, k, req)
	bit := notifyFailure
	if k == delay {
		bit = notifyDelay
	}
	n := notice{
		kind: k, hostname: s.hostname, mailName: s.mailName, queueID: id, sender: m.sender,
		envid: m.envid, arrival: m.arrival, now: s.now(), warnTime: s.warnTime, lifetime: s.lifetime,
		haveLog: true, original: m.lines, headerOnly: m.headers, origMsgID: m.msgID,
		from: s.fromHeader(),
	}
	word := "non-delivery"
	if k == delay {
		word = "delay"
	}

	switch {
	case strings.EqualFold(m.sender, s.doubleBounce):
		// A postmaster notice failed: never a triple bounce.
		s.log.Warn("%s: undeliverable postmaster notification discarded", id)
	case m.sender == "":
		// Never to the null sender: a double bounce to the postmaster, if wanted.
		if k == failure && (s.notify["bounce"] || s.notify["2bounce"]) {
			pm := n
			pm.postmaster, pm.to, pm.entries = true, s.twoBounceRcpt, entries
			newID, err := s.post(s.doubleBounce, s.twoBounceRcpt, pm.compose())
			if err != nil {
				return fmt.Errorf("postmaster %s notification: %v", word, err)
			}
			s.log.Info("%s: postmaster %s notification: %s", id, word, newID)
		} else if k == failure {
			s.log.Info("%s: sender is null, %s notification discarded", id, word)
		}
	default:
		var want []queue.LogEntry
		for _, e := range entries {
			if wants(&e, bit) {
				want = append(want, e)
			}
		}
		if len(want) > 0 {
			sn := n
			sn.to, sn.entries = m.sender, want
			if k == delay || strings.EqualFold(m.ret, "2") || strings.EqualFold(m.ret, "hdrs") {
				sn.original, sn.headerOnly = headerBlock(m.lines), m.lines != nil
			}
			newID, err := s.post("", m.sender, sn.compose())
			if err != nil {
				return fmt.Errorf("sender %s notification: %v", word, err)
			}
			s.log.Info("%s: sender %s notification: %s", id, word, newID)
		}
		// The postmaster copy is a courtesy: its failure does not resend the sender's notice.
		class, rcpt := "bounce", s.bounceRcpt
		if k == delay {
			class, rcpt = "delay", s.delayRcpt
		}
		if s.notify[class] {
			pm := n
			pm.postmaster, pm.to, pm.entries = true, rcpt, entries
			pm.original, pm.headerOnly = headerBlock(m.lines), m.lines != nil
			if newID, err := s.post(s.doubleBounce, rcpt, pm.compose()); err != nil {
				s.log.Warn("%s: postmaster %s notification: %v", id, word, err)
			} else {
				s.log.Info("%s: postmaster %s notification: %s", id, word, newID)
			}
		}
	}
	if k == failure {
		s.removeLog(logName, id)
	}
	return nil
}

// readLog reads the status log logName/ID; a missing log is fs.ErrNotExist.
func (s *server) readLog(logName, id string) ([]queue.LogEntry, error) {
	f, err := os.Open(s.q.Path(logName, id))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := queue.ReadLog(f)
	if err != nil {
		return nil, fmt.Errorf("read %s log: %v", logName, err)
	}
	return entries, nil
}

// removeLog removes the status log logName/ID once its notice is queued.
func (s *server) removeLog(logName, id string) {
	logPath := s.q.Path(logName, id)
	if err := os.Remove(logPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("%s: remove %s: %v", id, logPath, err)
	}
}

// report turns trace/ID into a delivery status report to the sender: the verify template
// ("Mail Delivery Status Report") for sendmail -v, the success template ("Successful Mail
// Delivery Report") for DSN NOTIFY=SUCCESS. Every entry of the log is listed with the
// action qmgr recorded, and the original's headers come back. As in Postfix's
// bounce_trace_service, there is no report about mail from <> or from the double-bounce
// sender, and no postmaster copy. The log is removed once the report is queued.
func (s *server) report(k kind, qname, id string, req ipc.Attrs) error {
	entries, err := s.readLog(queue.Trace, id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		s.removeLog(queue.Trace, id)
		return nil
	}
	m := s.readOriginal(qname, id, k, req)
	switch {
	case m.sender == "":
		s.log.Info("%s: not sending trace/success notification for single-bounce message", id)
	case strings.EqualFold(m.sender, s.doubleBounce):
		s.log.Info("%s: not sending trace/success notification for double-bounce message", id)
	default:
		n := notice{
			kind: k, hostname: s.hostname, mailName: s.mailName, queueID: id, sender: m.sender,
			envid: m.envid, arrival: m.arrival, now: s.now(), haveLog: true, entries: entries,
			original: headerBlock(m.lines), headerOnly: m.lines != nil, origMsgID: m.msgID,
			from: s.fromHeader(), to: m.sender,
		}
		newID, err := s.post("", m.sender, n.compose())
		if err != nil {
			return fmt.Errorf("sender delivery status notification: %v", err)
		}
		s.log.Info("%s: sender delivery status notification: %s", id, newID)
	}
	s.removeLog(queue.Trace, id)
	return nil
}

// fromHeader is the From: of every notice, as header_from_format says.
func (s *server) fromHeader() string {
	if s.fromStandard {
		return "Mail Delivery System <" + s.daemon + ">"
	}
	return s.daemon + " (Mail Delivery System)"
}

// readOriginal reads the envelope and the content to return. The request's sender and DSN
// attributes win over the file's (qmgr has the file open and knows best); a file that cannot
// be read leaves the content unavailable but does not stop the notice.
func (s *server) readOriginal(qname, id string, k kind, req ipc.Attrs) origMsg {
	var m origMsg
	path := s.q.Path(qname, id)
	env, err := queue.ReadEnvelope(path)
	if err != nil {
		s.log.Warn("%s: read queue file: %v", id, err)
	} else {
		m.sender, m.arrival, m.size = env.Sender, env.Arrival, env.MessageSize
		m.envid, m.ret = env.Attrs["envelope_id"], env.Attrs["ret_flags"]
	}
	if req.Has("sender") {
		m.sender = req.Get("sender")
	}
	if v := req.Get("dsn_envid"); v != "" {
		m.envid = v
	}
	if v := req.Get("dsn_ret"); v != "" {
		m.ret = v
	}
	if env == nil {
		return m
	}
	f, err := os.Open(path)
	if err != nil {
		s.log.Warn("%s: open queue file: %v", id, err)
		return m
	}
	defer f.Close()
	// Originals over bounce_size_limit come back as headers only, as do delay notices
	// and delivery reports.
	headersOnly := k != failure || s.sizeLimit > 0 && m.size > s.sizeLimit
	lines, err := readLines(queue.ContentReader(f, env.DataOffset), headersOnly)
	if err != nil {
		s.log.Warn("%s: read message content: %v", id, err)
		return m
	}
	m.lines, m.headers = lines, headersOnly
	m.msgID = messageID(lines)
	return m
}

// readLines splits content into lines; with headersOnly it stops at the header block's end
// (package postern/pkg/header).
func readLines(r io.Reader, headersOnly bool) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	lines := []string{}
	var sp header.Splitter
	for sc.Scan() {
		if headersOnly {
			if k := sp.Next(sc.Bytes()); k != header.Field && k != header.Continuation {
				break
			}
		}
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

// headerBlock is the primary header block of lines (all of them when there is no body).
func headerBlock(lines []string) []string {
	if lines == nil {
		return nil
	}
	var sp header.Splitter
	for i, l := range lines {
		if k := sp.Next([]byte(l)); k != header.Field && k != header.Continuation {
			return lines[:i]
		}
	}
	return lines
}

// messageID finds the original's Message-Id in its header block.
func messageID(lines []string) string {
	lines = headerBlock(lines)
	for i, l := range lines {
		name, v, ok := strings.Cut(l, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "message-id") {
			continue
		}
		for j := i + 1; j < len(lines) && (lines[j][0] == ' ' || lines[j][0] == '\t'); j++ {
			v += " " + lines[j]
		}
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "<") && strings.Contains(v, ">") {
			return printable.ASCII(v[:strings.IndexByte(v, '>')+1], '?')
		}
		return ""
	}
	return ""
}
