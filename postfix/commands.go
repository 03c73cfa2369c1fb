package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"postern/pkg/ipc"
)

// commands are postfix(1)'s commands, by name.
var commands = map[string]func(*script) int{
	"start":                 (*script).start,
	"start-fg":              (*script).startFG,
	"stop":                  (*script).stop,
	"abort":                 (*script).abort,
	"reload":                (*script).reload,
	"status":                (*script).status,
	"check":                 (*script).checkCommand,
	"flush":                 (*script).flush,
	"set-permissions":       (*script).setPermissions,
	"upgrade-configuration": func(*script) int { return 0 },
	"logrotate":             (*script).logrotate,
}

func (s *script) run(cmd string, args []string) int {
	if f, ok := commands[cmd]; ok {
		s.cmd = cmd
		return f(s)
	}
	s.fatal("unknown command: '%s'. %s", cmd, usage)
	return 1
}

// running asks master -t, as postfix-script does, and returns master's
// PID from the pid file.
func (s *script) running() (bool, int) {
	err := exec.Command(s.masterPath(), "-c", s.dir, "-t").Run()
	var ee *exec.ExitError
	if err == nil || !errors.As(err, &ee) {
		return false, 0
	}
	b, _ := os.ReadFile(s.pidPath())
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return true, pid
}

// starting refuses to start a second master, checks the installation as
// postfix check does, and says that the mail system starts.
func (s *script) starting() int {
	if up, _ := s.running(); up {
		s.fatal("the Postfix mail system is already running")
	}
	if code := s.check(); code != 0 {
		return code
	}
	// Unreadable tables only defer the mail that needs them: said, not fatal.
	s.checkTables()
	s.say("starting the Postfix mail system")
	return 0
}

func (s *script) start() int {
	if code := s.starting(); code != 0 {
		return code
	}
	c := exec.Command(s.masterPath(), "-c", s.dir, "-w")
	c.Stdout, c.Stderr = os.Stdout, os.Stderr
	if err := c.Run(); err != nil {
		s.fatal("mail system startup failed")
	}
	return 0
}

func (s *script) startFG() int {
	if code := s.starting(); code != 0 {
		return code
	}
	argv := []string{s.masterPath(), "-c", s.dir, "-d"}
	err := syscall.Exec(argv[0], argv, append(os.Environ(), "MAIL_CONFIG="+s.dir))
	s.fatal("exec %s: %v", argv[0], err)
	return 1
}

// signalMaster sends the running master sig, saying first what that does
// ("stopping", ...); it returns master's PID.
func (s *script) signalMaster(doing string, sig syscall.Signal) int {
	up, pid := s.running()
	if !up || pid <= 0 {
		s.fatal("the Postfix mail system is not running")
	}
	s.say("%s the Postfix mail system", doing)
	syscall.Kill(pid, sig)
	return pid
}

func (s *script) stop() int {
	pid := s.signalMaster("stopping", syscall.SIGTERM)
	for i := 0; i < 50; i++ {
		if syscall.Kill(pid, 0) != nil {
			return 0
		}
		if i == 10 {
			s.say("waiting for the Postfix mail system to terminate")
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.say("stopping the Postfix mail system with force")
	syscall.Kill(-pid, syscall.SIGKILL)
	syscall.Kill(pid, syscall.SIGKILL)
	return 0
}

func (s *script) abort() int {
	s.signalMaster("aborting", syscall.SIGTERM)
	return 0
}

func (s *script) reload() int {
	s.unimplemented(false)
	s.signalMaster("refreshing", syscall.SIGHUP)
	return 0
}

func (s *script) status() int {
	if up, pid := s.running(); up {
		s.say("the Postfix mail system is running: PID: %d", pid)
		return 0
	}
	s.say("the Postfix mail system is not running")
	return 1
}

// flush asks qmgr to retry everything: postqueue -f's trigger bytes
// F (flush dead), A (scan all), D (deferred), I (incoming).
func (s *script) flush() int {
	path := filepath.Join(s.cfg.Get("queue_directory"), "public", "qmgr")
	if err := ipc.Trigger(path, "FADI", 5*time.Second); err != nil {
		s.fatal("Cannot flush mail queue - mail system is down")
	}
	return 0
}

// logrotate renames maillog_file with a time suffix; the writers reopen
// nothing (each line is an O_APPEND write to the open file), so master is
// told to reload and its children start anew.
func (s *script) logrotate() int {
	f := s.cfg.Get("maillog_file")
	if f == "" {
		s.fatal("logrotate: maillog_file is not set")
	}
	if strings.HasPrefix(f, "/dev/") {
		s.fatal("logrotate: cannot rotate %s", f)
	}
	to := f + "." + time.Now().Format("20060102-150405")
	if err := os.Rename(f, to); err != nil {
		s.fatal("logrotate: rename %s to %s: %v", f, to, err)
	}
	if err := exec.Command("gzip", to).Run(); err != nil {
		s.warn("gzip %s: %v", to, err)
	}
	if up, pid := s.running(); up {
		syscall.Kill(pid, syscall.SIGHUP)
	}
	return 0
}
