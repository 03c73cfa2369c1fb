package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"postern/pkg/config"
	"postern/pkg/maillog"
	"postern/pkg/queue"
)

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "master: fatal: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	var (
		configDir = flag.String("c", "", "configuration directory")
		debug     = flag.Bool("d", false, "stay in the foreground")
		test      = flag.Bool("t", false, "exit 0 if no master is running")
		exitSecs  = flag.Int("e", 0, "exit after this many seconds")
		_         = flag.Bool("w", false, "wait until master is up (always done)")
		_         = flag.Bool("v", false, "verbose")
		_         = flag.Bool("s", false, "keep standard output")
		_         = flag.Bool("i", false, "init mode")
		_         = flag.Bool("D", false, "debug")
	)
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: master [-c config_dir] [-d] [-e exit_time] [-t] [-w]\n")
		os.Exit(1)
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
	}
	dir := config.Dir(*configDir)
	cfg, err := config.Load(dir)
	if err != nil {
		fatalf("%v", err)
	}
	if err := maillog.CheckFile(cfg.Get("maillog_file"), cfg.Get("maillog_file_prefixes")); err != nil {
		fatalf("%v", err)
	}
	queueDir, dataDir := cfg.Get("queue_directory"), cfg.Get("data_directory")
	if *test {
		if isRunning(queueDir, dataDir) {
			os.Exit(1)
		}
		os.Exit(0)
	}
	ready := readyFile()
	if !*debug && ready == nil {
		os.Exit(detach())
	}

	m := newMaster(dir, cfg)
	log := m.logger()
	if os.Geteuid() == 0 {
		name := cfg.Get("mail_owner")
		if m.owner, err = lookupUser(name); err != nil {
			log.Fatal("file %s/main.cf: parameter mail_owner: unknown user name value: %s", dir, name)
		}
		if m.owner.uid == 0 {
			log.Fatal("file %s/main.cf: parameter mail_owner: user %s has privileged user ID", dir, name)
		}
	}
	setgid := -1
	if g, err := lookupGroup(cfg.Get("setgid_group")); err == nil {
		setgid = g
	}
	uid := -1
	if m.owner != nil {
		uid = m.owner.uid
	}
	// Missing queue directories and data_directory, with Postfix's owners and modes.
	if err := queue.New(queueDir).Init(uid, setgid); err != nil {
		log.Fatal("%v", err)
	}
	if err := queue.InitDataDir(dataDir, uid); err != nil {
		log.Fatal("%v", err)
	}
	if m.locks, err = acquireLocks(queueDir, dataDir, m.owner); err != nil {
		if errors.Is(err, errRunning) {
			log.Fatal("the Postfix mail system is already running")
		}
		log.Fatal("%v", err)
	}
	want, err := m.plan(cfg)
	if err != nil {
		m.locks.release(true)
		log.Fatal("%v", err)
	}
	for _, s := range want {
		if s.lis, err = m.openListeners(s.conf, cfg); err != nil {
			m.locks.release(true)
			log.Fatal("master.cf line %d: service %s: %v", s.conf.Line, s.conf.Name, err)
		}
	}
	for _, s := range want {
		m.start(s)
	}
	log.Info("daemon started -- version %s, configuration %s", m.version(), dir)
	if ready != nil {
		ready.Write([]byte("ok\n"))
		ready.Close()
	}
	m.loop(time.Duration(*exitSecs) * time.Second)
	os.Exit(0)
}
