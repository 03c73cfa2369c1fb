package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"postern/pkg/config"
	"postern/pkg/maillog"
)

// sysexits.h values.
const (
	exUsage       = 64
	exDataErr     = 65
	exUnavailable = 69
	exSoftware    = 70
	exOSErr       = 71
	exTempFail    = 75
	exConfig      = 78
)

// exitError ends sendmail with a sysexits status and a "fatal:" message.
type exitError struct {
	code int
	text string
}

func (e *exitError) Error() string { return e.text }

func exitf(code int, format string, args ...any) error {
	return &exitError{code, fmt.Sprintf(format, args...)}
}

var prog = "sendmail"

func main() {
	prog = filepath.Base(os.Args[0])
	o, err := parseArgs(prog, os.Args[1:])
	if err != nil {
		if strings.HasPrefix(err.Error(), "invalid option") {
			fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
			die(nil, exitf(exUsage, "usage: %s [options]", prog))
		}
		die(nil, exitf(exUsage, "%v", err))
	}
	cfg, err := config.Load(config.Dir(o.configDir))
	if err != nil {
		die(nil, exitf(exConfig, "%v", err))
	}
	warn := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s: warning: %s\n", prog, fmt.Sprintf(format, args...))
	}
	switch o.mode {
	case modeEnqueue:
		err = enqueue(cfg, o, os.Stdin, warn)
	case modeMailq:
		err = execProgram(cfg, "postqueue", "-p")
	case modeNewaliases:
		err = newaliases(cfg, o)
	case modeFlush:
		err = flush(cfg, o)
	case modeDaemon:
		err = execProgram(cfg, "postfix", "start")
	case modeSMTP:
		err = serveSMTP(cfg, os.Stdin, os.Stdout, warn)
	case modeVerify:
		err = exitf(exUnavailable, "-bv (address verification) is not implemented yet")
	}
	if err != nil {
		die(cfg, err)
	}
	os.Exit(0)
}

// die prints "prog: fatal: text", logs it when the mail log is not standard error, and
// exits with the error's status.
func die(cfg *config.Config, err error) {
	code, text := exSoftware, err.Error()
	if e, ok := err.(*exitError); ok {
		code = e.code
	} else if e, ok := err.(*usageError); ok {
		code, text = exUsage, e.text
	}
	fmt.Fprintf(os.Stderr, "%s: fatal: %s\n", prog, text)
	if cfg != nil {
		if l := maillog.FromConfig("sendmail", cfg.Get); !l.ToStderr() {
			l.Info("fatal: %s", text)
			l.Close()
		}
	}
	os.Exit(code)
}
