package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"postern/pkg/config"
	"postern/pkg/dsn"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/queue"
)

// settings are the main.cf parameters local uses, read once at start.
type settings struct {
	queueDir         string        // queue_directory
	recipientDelim   string        // recipient_delimiter
	mailboxCommand   string        // mailbox_command (not $name-expanded, as Postfix)
	homeMailbox      string        // home_mailbox
	spoolDir         string        // mail_spool_directory
	commandShell     string        // local_command_shell
	commandDir       string        // command_execution_directory
	expansionFilter  string        // command_expansion_filter
	commandTimeLimit time.Duration // command_time_limit
	exportEnv        []string      // export_environment
	defaultPrivs     string        // default_privs
	origRecipient    bool          // enable_original_recipient
	deliveredFile    bool          // prepend_delivered_header has "file"
	deliveredCommand bool          // prepend_delivered_header has "command"
	requireHome      bool          // require_home_directory
	dotLock, fcntl   bool          // mailbox_delivery_lock
	lockAttempts     int           // deliver_lock_attempts
	lockDelay        time.Duration // deliver_lock_delay
	staleLock        time.Duration // stale_lock_time
	sizeLimit        int64         // mailbox_size_limit
	strictOwner      bool          // strict_mailbox_ownership
	ipcTimeout       time.Duration // ipc_timeout
}

func loadSettings(c *config.Config) settings {
	s := settings{
		queueDir:         c.Get("queue_directory"),
		recipientDelim:   c.Get("recipient_delimiter"),
		homeMailbox:      c.Get("home_mailbox"),
		spoolDir:         c.Get("mail_spool_directory"),
		commandShell:     c.Get("local_command_shell"),
		commandDir:       c.Get("command_execution_directory"),
		expansionFilter:  c.Get("command_expansion_filter"),
		commandTimeLimit: c.Duration("command_time_limit"),
		exportEnv:        c.List("export_environment"),
		defaultPrivs:     c.Get("default_privs"),
		origRecipient:    c.Bool("enable_original_recipient"),
		requireHome:      c.Bool("require_home_directory"),
		lockAttempts:     int(c.Int("deliver_lock_attempts")),
		lockDelay:        c.Duration("deliver_lock_delay"),
		staleLock:        c.Duration("stale_lock_time"),
		sizeLimit:        c.Int("mailbox_size_limit"),
		strictOwner:      c.Bool("strict_mailbox_ownership"),
		ipcTimeout:       c.Duration("ipc_timeout"),
	}
	// mailbox_command is shell syntax; Postfix does not expand $names in it
	// ("$EXTENSION" is for the shell).
	if v, ok := c.RawOrDefault("mailbox_command"); ok {
		s.mailboxCommand = strings.TrimSpace(v)
	}
	for _, w := range c.List("prepend_delivered_header") {
		switch strings.ToLower(w) {
		case "file":
			s.deliveredFile = true
		case "command":
			s.deliveredCommand = true
		}
	}
	for _, w := range c.List("mailbox_delivery_lock") {
		switch strings.ToLower(w) {
		case "dotlock":
			s.dotLock = true
		case "fcntl", "flock":
			// flock is served by the OFD lock too; both exclude other
			// local deliveries and conflict with classic fcntl users.
			s.fcntl = true
		}
	}
	if s.commandTimeLimit <= 0 {
		s.commandTimeLimit = 1000 * time.Second
	}
	if s.ipcTimeout <= 0 {
		s.ipcTimeout = time.Hour
	}
	return s
}

// runMode selects how a delivery gets the recipient's identity.
type runMode int

const (
	modeAuto      runMode = iota // root: helper; otherwise in-process for our own uid
	modeServer                   // a long-lived helper per identity (pool.go)
	modeChild                    // a credentialed child per delivery (benchmarks)
	modeInProcess                // always in-process (benchmarks)
)

// server is one local process: it serves any number of qmgr connections.
type server struct {
	cfg   settings
	log   *maillog.Logger
	queue *queue.Queue
	euid  int
	mode  runMode
	exe   string      // program run for a credentialed child or helper
	pool  *helperPool // helpers per identity, for a root local
	now   func() time.Time

	// aliases and dotforward are the seams for alias_maps and .forward
	// expansion (a later issue). When set, they run in the order Postfix
	// uses (§6.2) and report whether they handled the recipient.
	aliases    func(r *rcpt) (dsn.Status, bool)
	dotforward func(r *rcpt, u *account) (dsn.Status, bool)
	xc         *expandConfig // their settings (alias.go)
}

func newServer(c *config.Config, l *maillog.Logger) (*server, error) {
	cfg := loadSettings(c)
	if cfg.queueDir == "" {
		return nil, errors.New("queue_directory is not set")
	}
	s := &server{cfg: cfg, log: l, queue: queue.New(cfg.queueDir), euid: os.Geteuid(),
		exe: "/proc/self/exe", now: time.Now}
	s.pool = newHelperPool(s.exe, func(format string, a ...any) { l.Warn(format, a...) })
	s.initExpansion(c)
	return s, nil
}

// request is one delivery request from qmgr (docs/DESIGN.md, "delivery request").
type request struct {
	QueueName, QueueID string
	Offset             int64
	Arrival, Active    time.Time
	Sender             string
	Recipient, Orig    string
	ClientName         string
	ClientAddr         string
	ClientProto        string
	ClientHelo         string
	SASLMethod         string
	SASLUser           string
	SASLSender         string

	// Set during delivery, for alias and .forward expansion (expand.go).
	qf     *os.File
	loop   map[string]bool // Delivered-To values of the message
	start  time.Time
	logged bool // the expansion logged its own per-destination lines
}

// maxAddress bounds addresses taken from a request; longer ones are refused.
const maxAddress = 2048

func parseRequest(a ipc.Attrs) (*request, error) {
	r := &request{
		QueueName:   a.Get("queue_name"),
		QueueID:     a.Get("queue_id"),
		Sender:      a.Get("sender"),
		Recipient:   a.Get("recipient"),
		Orig:        a.Get("orig_recipient"),
		ClientName:  a.Get("client_name"),
		ClientAddr:  a.Get("client_address"),
		ClientProto: a.Get("client_protocol"),
		ClientHelo:  a.Get("client_helo"),
		SASLMethod:  a.Get("sasl_method"),
		SASLUser:    a.Get("sasl_username"),
		SASLSender:  a.Get("sasl_sender"),
	}
	// Only the active queue is ever delivered from, and the ID must be a
	// bare queue file name: the request never names a path.
	if r.QueueName != queue.Active {
		return nil, fmt.Errorf("bad queue_name %q", printable(trunc(r.QueueName)))
	}
	if !queue.ValidID(r.QueueID) {
		return nil, fmt.Errorf("bad queue_id %q", printable(trunc(r.QueueID)))
	}
	off, err := strconv.ParseInt(a.Get("content_offset"), 10, 64)
	if err != nil || off <= 0 {
		return nil, fmt.Errorf("bad content_offset %q", printable(trunc(a.Get("content_offset"))))
	}
	r.Offset = off
	if r.Recipient == "" {
		return nil, errors.New("no recipient")
	}
	r.Arrival = parseTime(a.Get("arrival_time"))
	r.Active = parseTime(a.Get("active_time"))
	return r, nil
}

func trunc(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// parseTime reads "seconds[.fraction]"; anything else is the zero time.
func parseTime(v string) time.Time {
	if v == "" || len(v) > 32 {
		return time.Time{}
	}
	sec, frac, _ := strings.Cut(v, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s < 0 {
		return time.Time{}
	}
	var ns int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		n, err := strconv.ParseInt(frac, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}
		}
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		ns = n
	}
	return time.Unix(s, ns)
}

// serve handles one qmgr connection: requests one after another, each
// answered before the next is read.
func (s *server) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	for {
		c.SetReadDeadline(time.Now().Add(s.cfg.ipcTimeout))
		a, err := ipc.Read(br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
				s.log.Warn("read delivery request: %v", err)
			}
			return
		}
		st := s.handle(a)
		code := "4"
		switch st.Class() {
		case '2':
			code = "0"
		case '5':
			code = "5"
		}
		c.SetWriteDeadline(time.Now().Add(s.cfg.ipcTimeout))
		if err := ipc.Write(c, ipc.Attrs{{Name: "status", Value: code}, {Name: "dsn", Value: st.Code},
			{Name: "reason", Value: st.Text}}); err != nil {
			s.log.Warn("write delivery reply: %v", err)
			return
		}
	}
}

// handle performs one request and logs its outcome. A panic becomes a
// deferral: hostile input must not take the process down with the
// deliveries of other connections.
func (s *server) handle(a ipc.Attrs) (st dsn.Status) {
	r, err := parseRequest(a)
	if err != nil {
		s.log.Warn("malformed delivery request: %v", err)
		return dsn.Defer("4.3.0", "malformed delivery request")
	}
	start := s.now()
	r.start = start
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("%s: internal error delivering to %s: %v", r.QueueID, printable(trunc(r.Recipient)), p)
			st = dsn.Defer("4.3.0", "internal error")
			r.logged = false
		}
		if !r.logged {
			logDelivery(s.log, r, start, s.now(), st)
		}
	}()
	f, err := s.openQueueFile(r)
	if err != nil {
		s.log.Warn("%s: %v", r.QueueID, err)
		return dsn.Defer("4.3.0", "cannot open queue file")
	}
	defer f.Close()
	return s.deliver(r, f)
}

// openQueueFile opens queue_directory/active/ID read-only, refusing
// anything but a regular file.
func (s *server) openQueueFile(r *request) (*os.File, error) {
	path := s.queue.Path(r.QueueName, r.QueueID)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return f, nil
}
