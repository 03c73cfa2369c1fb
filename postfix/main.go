package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"postern/pkg/config"
	"postern/pkg/getopt"
	"postern/pkg/maillog"
)

const usage = "Usage: postfix start (or stop, reload, abort, flush, check, status, set-permissions, upgrade-configuration, logrotate)"

// script is one postfix(1) invocation: configuration and log.
type script struct {
	dir       string
	cmd       string // the command being run
	cfg       *config.Config
	log       *maillog.Logger
	logStderr bool // the log already goes to standard error
}

// say logs a postfix-script message and shows it on standard error.
func (s *script) say(format string, args ...any) {
	s.log.Info("%s", s.show("", format, args...))
}

func (s *script) warn(format string, args ...any) {
	s.log.Warn("%s", s.show("warning: ", format, args...))
}

// fatal logs and shows a fatal message and exits 1.
func (s *script) fatal(format string, args ...any) {
	s.log.Fatal("%s", s.show("fatal: ", format, args...))
}

// show puts a message on standard error, unless the log goes there already,
// and returns it for the log.
func (s *script) show(label, format string, args ...any) string {
	msg := fmt.Sprintf(format, args...)
	if !s.logStderr {
		fmt.Fprintf(os.Stderr, "postfix/postfix-script: %s%s\n", label, msg)
	}
	return msg
}

func main() {
	configDir := ""
	args, err := getopt.Parse(os.Args[1:], "c:Dv", func(c byte, v string) error {
		if c == 'c' {
			configDir = v
		}
		return nil
	})
	if err != nil || len(args) == 0 {
		fmt.Fprintf(os.Stderr, "postfix: fatal: %s\n", usage)
		os.Exit(1)
	}
	dir := config.Dir(configDir)
	cfg, err := config.Load(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "postfix: fatal: %v\n", err)
		os.Exit(1)
	}
	s := &script{dir: dir, cfg: cfg, log: maillog.FromConfig("postfix-script", cfg.Get)}
	s.logStderr = logsToStderr(cfg)
	os.Exit(s.run(args[0], args[1:]))
}

// logsToStderr tells whether maillog falls back to standard error, so that
// messages are not shown twice.
func logsToStderr(cfg *config.Config) bool {
	switch f := cfg.Get("maillog_file"); f {
	case "/dev/stderr":
		return true
	case "":
		c, err := net.Dial("unixgram", "/dev/log")
		if err != nil {
			return true
		}
		c.Close()
	}
	return false
}

func (s *script) masterPath() string {
	return filepath.Join(s.cfg.Get("daemon_directory"), "master")
}

func (s *script) pidPath() string {
	return filepath.Join(s.cfg.Get("queue_directory"), "pid", "master.pid")
}
