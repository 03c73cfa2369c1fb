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

// GC settings of every daemon, unless GOGC or GOMEMLIMIT in the environment says otherwise.
// A daemon's live heap is small (a few MB: sessions, buffers, tables), so at Go's default
// GOGC=100 it collects every few MB allocated, many times a second under load; 400 lets
// the heap grow to five times what is live before a collection, a fifth of the collections
// for a few MB more per process (W7, the sum of the mail system's RSS under load, is
// measured in docs/bench.md). The soft limit keeps a daemon with a large live heap from
// growing five-fold: past it the GC collects as often as needed to stay near it. It is far
// enough above any live heap seen here that it does not make a daemon collect more often
// than GOGC=100 would.
const (
	gcPercent   = 400
	memoryLimit = 256 << 20
)

// TuneGC applies the daemons' GC settings (see gcPercent); Main and MainDgram call it.
// GOMAXPROCS stays Go's default: the machine's (or the cgroup's) CPU count.
func TuneGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(gcPercent)
	debug.SetMemoryLimit(memoryLimit)
}
