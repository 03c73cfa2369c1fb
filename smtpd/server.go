package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"postern/pkg/auth"
	"postern/pkg/config"
	"postern/pkg/maillog"
	"postern/pkg/resolve"
	"postern/pkg/rewrite"
)

// server holds what every session needs, read once from main.cf at start.
type server struct {
	log *maillog.Logger

	myhostname   string
	mailName     string
	banner       string
	myorigin     string
	sizeLimit    int64
	rcptLimit    int
	timeout      time.Duration
	softErrLimit int
	hardErrLimit int
	errSleep     time.Duration
	lineLimit    int
	smtputf8     bool
	disableVrfy  bool
	softBounce   bool // soft_bounce: every 5xx reply goes out as 4xx
	discardEhlo  map[string]bool
	cleanupPath  string
	queueDir     string
	queueMinfree int64
	junkLimit    int
	minDataRate  int64
	service      string // master.cf service name, for the limit warnings

	tls         *tls.Config // nil: no certificate
	tlsLevel    int
	tlsWrapper  bool
	tlsLogLevel int

	saslEnable    bool
	tlsAuthOnly   bool
	brokenAuth    bool
	saslRespLimit int
	saslService   string
	authd         *auth.Client

	limits *limits
	policy *policy
}

// policy is the access-control configuration.
type policy struct {
	lists              map[string][]string
	res                *resolve.Resolver // trivial-rewrite: canonical form, address classes
	mynetworks         *resolve.List
	relayCode          int
	rejectCode         int
	deferCode          int
	unknownLocalCode   int
	rejectUnlisted     bool
	unknownVirtualCode int
	localMaps          *rewrite.Finder   // local_recipient_maps; nil: no check
	knownMaps          []*rewrite.Finder // recipient_canonical_maps, canonical_maps, virtual_alias_maps
	canon              *resolve.Canon
	delimiter          string
	doubleBounce       string
	rewriteLocal       []string // local_header_rewrite_clients

	access           map[string]*accessTable // check_*_access tables by spec
	loginMaps        *accessTable            // smtpd_sender_login_maps
	accessRejectCode int
	accessDeferCode  int
	nonFQDNCode      int
	unknownAddrCode  int
	nullKey          string
	resolver         *net.Resolver
}

func newServer(cfg *config.Config, log *maillog.Logger) (*server, error) {
	s := &server{
		log:          log,
		myhostname:   cfg.Get("myhostname"),
		mailName:     cfg.Get("mail_name"),
		banner:       cfg.Get("smtpd_banner"),
		myorigin:     cfg.MyOrigin(),
		sizeLimit:    cfg.Int("message_size_limit"),
		rcptLimit:    int(cfg.Int("smtpd_recipient_limit")),
		timeout:      cfg.Duration("smtpd_timeout"),
		softErrLimit: int(cfg.Int("smtpd_soft_error_limit")),
		hardErrLimit: int(cfg.Int("smtpd_hard_error_limit")),
		errSleep:     cfg.Duration("smtpd_error_sleep_time"),
		lineLimit:    int(cfg.Int("line_length_limit")),
		smtputf8:     cfg.Bool("smtputf8_enable"),
		disableVrfy:  cfg.Bool("disable_vrfy_command"),
		softBounce:   cfg.Bool("soft_bounce"),
		discardEhlo:  map[string]bool{},
		cleanupPath:  filepath.Join(cfg.Get("queue_directory"), "public", "cleanup"),
		queueDir:     cfg.Get("queue_directory"),
		queueMinfree: cfg.Int("queue_minfree"),
		junkLimit:    int(cfg.Int("smtpd_junk_command_limit")),
		minDataRate:  cfg.Int("smtpd_min_data_rate"),
		service:      "smtp",
	}
	if err := s.tlsSettings(cfg); err != nil {
		return nil, err
	}
	s.saslSettings(cfg)
	s.limits = newLimits(cfg, log.Warn)
	if s.lineLimit < 80 {
		s.lineLimit = 2048
	}
	if s.timeout <= 0 {
		s.timeout = 300 * time.Second
	}
	for _, k := range cfg.List("smtpd_discard_ehlo_keywords") {
		s.discardEhlo[strings.ToUpper(k)] = true
	}
	p := &policy{
		lists:              map[string][]string{},
		relayCode:          int(cfg.Int("relay_domains_reject_code")),
		rejectCode:         int(cfg.Int("reject_code")),
		deferCode:          int(cfg.Int("defer_code")),
		unknownLocalCode:   int(cfg.Int("unknown_local_recipient_reject_code")),
		rejectUnlisted:     cfg.Bool("smtpd_reject_unlisted_recipient"),
		unknownVirtualCode: int(cfg.Int("unknown_virtual_alias_reject_code")),
		delimiter:          cfg.Get("recipient_delimiter"),
		doubleBounce:       strings.ToLower(cfg.Get("double_bounce_sender")),
		rewriteLocal:       cfg.List("local_header_rewrite_clients"),
	}
	if err := p.openTables(cfg, log); err != nil {
		return nil, err
	}
	if err := p.openAccess(cfg, log); err != nil {
		return nil, err
	}
	working := false
	for _, name := range rcptLists {
		p.lists[name] = cfg.List(name)
		if name == "smtpd_relay_restrictions" || name == "smtpd_recipient_restrictions" {
			for _, r := range p.lists[name] {
				if workingRejects[strings.ToLower(r)] {
					working = true
				}
			}
		}
	}
	if !working {
		return nil, fmt.Errorf("in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: %s", workingRejectsText)
	}
	s.policy = p
	return s, nil
}

// handle serves one connection: master's ServeStream calls it in a goroutine of its own.
func (s *server) handle(conn net.Conn) {
	w := newWire(s, conn)
	defer w.release()
	s.log.Info("connect from %s", w.client())
	release, exceeded, n := s.limits.admit(w.ip, w.name, time.Now())
	// The connection counts until its "disconnect from" line is logged, not after: a client
	// that has read that line (or a test waiting for it) may connect again at once.
	disconnect := func(stats string) {
		release()
		release = func() {}
		s.log.Info("disconnect from %s%s", w.client(), stats)
	}
	defer func() { release() }()
	if exceeded != "" {
		// As Postfix: the refusal takes the banner's place.
		s.log.Warn("Connection %s limit exceeded: %d from %s for service %s", exceeded, n, w.client(), s.service)
		conn.SetWriteDeadline(time.Now().Add(s.timeout))
		fmt.Fprintf(conn, "421 4.7.0 %s Error: too many connections from %s\r\n", s.myhostname, w.addr)
		conn.Close()
		disconnect(" commands=0/0")
		return
	}
	if s.tlsWrapper && !w.handshake() {
		conn.Close()
		disconnect(" commands=0/0")
		return
	}
	sess := newSession(s, w)
	func() {
		defer func() {
			if r := recover(); r != nil && recoverPanics {
				s.log.Warn("smtpd: panic serving %s: %v", w.client(), r)
			} else if r != nil {
				panic(r)
			}
		}()
		sess.serve()
	}()
	sess.abort()
	conn.Close()
	w.conn.Close()
	disconnect(sess.stats())
}

// recoverPanics keeps one session's bug from ending the others (smtpd serves every
// connection of its service); the fuzz test turns it off to see the panic.
var recoverPanics = true

// replyErr is an SMTP reply decided by smtpd (access control, cleanup status).
type replyErr struct {
	code          int
	dsn           string
	text          string
	deferIfPermit bool
}

func (e *replyErr) String() string { return fmt.Sprintf("%d %s %s", e.code, e.dsn, e.text) }
