package main

import (
	"errors"
	"net"
	"os"
	"strings"
	"time"

	"postern/pkg/config"
	"postern/pkg/deliver"
	"postern/pkg/dsn"
	"postern/pkg/ipc"
	"postern/pkg/maildir"
	"postern/pkg/maillog"
	"postern/pkg/printable"
	"postern/pkg/queue"
	"postern/pkg/runas"
)

// settings are the main.cf parameters local uses, read once at start.
type settings struct {
	queueDir         string        // queue_directory
	recipientDelim   string        // recipient_delimiter
	ownerSpecial     bool          // owner_request_special
	doubleBounce     string        // double_bounce_sender
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
	softBounce       bool          // soft_bounce: permanent failures are deferred
}

func loadSettings(c *config.Config) settings {
	s := settings{
		queueDir:         c.Get("queue_directory"),
		recipientDelim:   c.Get("recipient_delimiter"),
		ownerSpecial:     c.Bool("owner_request_special"),
		doubleBounce:     c.Get("double_bounce_sender"),
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
		softBounce:       c.Bool("soft_bounce"),
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
	modeAuto      runMode = iota // Maildir: thread; root: helper; otherwise in-process for our own uid
	modeServer                   // a long-lived helper per identity (helper.go)
	modeThread                   // Maildir: a thread of local's as the user (job.go)
	modeInProcess                // always in-process (benchmarks)
)

// server is one local process: it serves any number of qmgr connections.
type server struct {
	cfg   settings
	log   *maillog.Logger
	queue *queue.Queue
	euid  int
	mode  runMode
	exe   string      // program run as a credentialed helper
	pool  *runas.Pool // delivery helpers per identity, for a root local (helper.go)
	// Maildir deliveries: threads running as the user, group commit.
	threads *runas.Threads
	commit  *maildir.Committer
	now     func() time.Time

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
	s.threads = &runas.Threads{Max: helperMax, Idle: helperIdle}
	s.commit = &maildir.Committer{}
	s.initExpansion(c)
	return s, nil
}

// request is one delivery request from qmgr (pkg/deliver) and its one
// recipient: qmgr sends one per request, and local ignores any others.
type request struct {
	*deliver.Request
	Recipient, Orig string

	// Set during delivery, for alias and .forward expansion (expand.go).
	qf     *os.File
	loop   map[string]bool // Delivered-To values of the message
	start  time.Time
	logged bool // the expansion logged its own per-destination lines
}

// maxAddress bounds addresses taken from a request; longer ones are refused.
const maxAddress = 2048

func parseRequest(a ipc.Attrs) (*request, error) {
	dr, err := deliver.Parse(a)
	if err != nil {
		return nil, err
	}
	return &request{Request: dr, Recipient: dr.Rcpts[0].Addr, Orig: dr.Rcpts[0].Orig}, nil
}

// serve handles one qmgr connection: requests one after another, each
// answered before the next is read.
func (s *server) serve(c net.Conn) {
	deliver.Serve(c, s.cfg.ipcTimeout, s.log, func(a ipc.Attrs) ipc.Attrs {
		return deliver.Reply{Status: s.handle(a)}.Attrs()
	})
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
			s.log.Error("%s: internal error delivering to %s: %v", r.QueueID, printable.Except(printable.Trunc(r.Recipient, 100), '_', "\t"), p)
			st = dsn.Defer("4.3.0", "internal error")
			r.logged = false
		}
		if s.cfg.softBounce {
			st = st.SoftBounce()
		}
		if !r.logged {
			logDelivery(s.log, r, start, s.now(), st)
		}
	}()
	f, err := r.Open(s.queue)
	if err != nil {
		s.log.Warn("%s: %v", r.QueueID, err)
		return dsn.Defer("4.3.0", "cannot open queue file")
	}
	defer f.Close()
	return s.deliver(r, f)
}
