package service

import (
	"fmt"
	"net"
	"os"
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
	MaxProc   int
	MaxIdle   time.Duration // 0 for resident services
}

// Options describe how Main runs a daemon.
type Options struct {
	// Resident daemons (qmgr, pickup) never exit for max_idle.
	Resident bool
}

// Main is the whole main function of a stream daemon: it parses the
// command line, loads main.cf with the -o overrides, opens the log as
// program prog, adopts the inherited listeners, calls start and serves every
// connection with the handler start returns (see ServeStream). A start error
// or a listener failure is fatal (exit 1); otherwise Main exits 0.
func Main(prog string, o Options, start func(e *Env) (func(net.Conn), error)) {
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
	log := maillog.FromConfig(prog, cfg.Get)
	lns, err := Listeners()
	if err != nil {
		log.Fatal("%v", err)
	}
	e := &Env{Args: a, Config: cfg, Log: log, Listeners: lns, MaxProc: MaxProc()}
	if !o.Resident {
		e.MaxIdle = cfg.Duration("max_idle")
	}
	SignalContext() // catch SIGTERM from the start
	stopProfile := StartProfile(prog)
	handle, err := start(e)
	if err != nil {
		log.Fatal("%v", err)
	}
	if err := ServeStream(lns, e.MaxProc, e.MaxIdle, handle); err != nil {
		log.Fatal("accept: %v", err)
	}
	stopProfile()
	os.Exit(0)
}
