package service

import (
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"time"

	"postern/pkg/config"
	"postern/pkg/maillog"
)

// Env is what Main hands to a daemon.
type Env struct {
	Args      *Args
	Config    *config.Config
	Log       *maillog.Logger
	Listeners []net.Listener
	// PacketConns are the datagram sockets of a unix-dgram service (MainDgram).
	PacketConns []net.PacketConn
	MaxProc     int
	MaxIdle     time.Duration // 0 for resident services
}

// Options describe how Main runs a daemon.
type Options struct {
	// Resident daemons (qmgr, pickup) never exit for max_idle.
	Resident bool
	// NoPostlog keeps the daemon's own log lines away from the postlog service: postlogd
	// must write them itself, or it would send them to itself.
	NoPostlog bool
	// TLS names the parameter prefixes (smtpd, smtp, pop3d ...) whose
	// certificate and key files the daemon loads with Certificates: Main
	// reads them before it drops privileges (see PreloadTLS).
	TLS []string
}

// Main is the whole main function of a stream daemon: it parses the
// command line, loads main.cf with the -o overrides, opens the log as
// program prog, adopts the inherited listeners, reads the TLS files of
// o.TLS, drops privileges to mail_owner when master asked for an unprivileged
// daemon (-u) and this process is root, calls start and serves every
// connection with the handler start returns (see ServeStream). A start error,
// a failed privilege drop or a listener failure is fatal (exit 1); otherwise
// Main exits 0.
func Main(prog string, o Options, start func(e *Env) (func(net.Conn), error)) {
	e := setup(prog, o)
	stopProfile := StartProfile(prog)
	handle, err := start(e)
	if err != nil {
		e.Log.Fatal("%v", err)
	}
	if err := ServeStream(e.Listeners, e.MaxProc, e.MaxIdle, handle); err != nil {
		e.Log.Fatal("accept: %v", err)
	}
	stopProfile()
	os.Exit(0)
}

// setup is what Main and MainDgram do before start: command line, main.cf, log, inherited
// sockets, SIGTERM.
func setup(prog string, o Options) *Env {
	TuneGC()
	a, err := ParseArgs(prog, os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: fatal: %v\n", prog, err)
		os.Exit(1)
	}
	cfg, err := LoadConfig(a)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: fatal: %v\n", prog, err)
		os.Exit(1)
	}
	lo := maillog.ConfigOptions(cfg.Get)
	if o.NoPostlog {
		lo.PostlogSocket = ""
	}
	log := maillog.New(prog, lo)
	lns, err := Listeners()
	if err != nil {
		log.Fatal("%v", err)
	}
	// Everything read as root happens above; below runs as mail_owner.
	PreloadTLS(cfg, o.TLS...)
	if a.Unpriv && os.Geteuid() == 0 {
		if err := DropPrivileges(cfg.Get("mail_owner")); err != nil {
			log.Fatal("%v", err)
		}
	}
	e := &Env{Args: a, Config: cfg, Log: log, Listeners: lns, PacketConns: packetConns, MaxProc: MaxProc()}
	if !o.Resident {
		e.MaxIdle = cfg.Duration("max_idle")
	}
	SignalContext() // catch SIGTERM from the start
	return e
}

// gcPercent is every daemon's GOGC unless GOGC or GOMEMLIMIT in the environment says
// otherwise. A daemon's live heap is small (a few MB: sessions, buffers, tables), so at Go's
// default of 100 it collects every few MB allocated, many times a second under load (8 % of
// smtpd's CPU under W1 c=10 before its buffers were pooled). 200 lets the heap grow to three
// times what is live: half the collections. 400 cut them further but doubled the RSS of
// smtpd, cleanup and qmgr under W1 c=50 (W7: 185 -> 269 MB of the 300 MB budget). No soft
// memory limit: one below a daemon's live heap would make it collect without end.
const gcPercent = 200

// TuneGC applies gcPercent; Main and MainDgram call it. GOMAXPROCS stays Go's default, the
// number of CPUs the process may use (2 here): the daemons are many processes, each with
// few runnable goroutines, and the kernel spreads them over the cores.
func TuneGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(gcPercent)
}
