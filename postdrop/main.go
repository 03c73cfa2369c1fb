package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"postern/pkg/config"
	"postern/pkg/getopt"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/printable"
	"postern/pkg/queue"
)

// sysexits.h values postdrop uses.
const (
	exUsage    = 64
	exDataErr  = 65
	exTempFail = 75
)

func main() {
	configDir, verbose, err := parseArgs(os.Args[1:])
	if err != nil {
		fatal(exUsage, "%v", err)
	}
	if err := checkConfigDir(configDir); err != nil {
		fatal(exUsage, "%v", err)
	}
	cfg, err := config.Load(config.Dir(configDir))
	if err != nil {
		fatal(exTempFail, "%v", err)
	}
	mlog = maillog.FromConfig("postdrop", cfg.Get)
	q := queue.New(cfg.Get("queue_directory"))
	id, err := drop(q, os.Stdin, os.Getuid())
	if err != nil {
		var pe *protoError
		if errors.As(err, &pe) {
			fatal(exDataErr, "uid=%d: %v", os.Getuid(), pe.err)
		}
		fatal(exTempFail, "%v", err)
	}
	if id == "" {
		os.Exit(0) // canceled by the client
	}
	if verbose {
		fmt.Fprintf(os.Stderr, "postdrop: queue_id=%s\n", id)
	}
	wakePickup(q)
	os.Exit(0)
}

func parseArgs(argv []string) (configDir string, verbose bool, err error) {
	operands, err := getopt.Parse(argv, "c:rv", func(c byte, v string) error {
		switch c {
		case 'c':
			configDir = v
		case 'v':
			verbose = true
		}
		return nil
	})
	if err != nil {
		return "", false, err
	}
	if len(operands) > 0 {
		return "", false, errors.New("usage: postdrop [-rv] [-c config_dir]")
	}
	return configDir, verbose, nil
}

// checkConfigDir keeps a set-group-ID postdrop from reading a configuration the invoking
// user controls (which could name any queue directory).
func checkConfigDir(flag string) error {
	if os.Getegid() == os.Getgid() && os.Geteuid() == os.Getuid() {
		return nil
	}
	dir := config.Dir(flag)
	if filepath.Clean(dir) == config.DefaultDir {
		return nil
	}
	def, err := config.Load(config.DefaultDir)
	if err != nil {
		return err
	}
	for _, p := range []string{"alternate_config_directories", "multi_instance_directories"} {
		for _, d := range def.List(p) {
			if filepath.Clean(d) == filepath.Clean(dir) {
				return nil
			}
		}
	}
	return fmt.Errorf("untrusted configuration directory name: %s", dir)
}

// protoError is a problem with the client's record stream rather than with the queue.
type protoError struct{ err error }

func (e *protoError) Error() string { return e.err.Error() }

// current is the file being written, removed if a signal ends postdrop early.
var current struct {
	sync.Mutex
	path string
}

func init() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	go func() {
		s := <-c
		current.Lock()
		if current.path != "" {
			os.Remove(current.path)
		}
		fmt.Fprintf(os.Stderr, "postdrop: fatal: terminated by signal %v\n", s)
		os.Exit(exTempFail)
	}()
}

// drop copies the record stream on r into a new maildrop file and commits it. It returns
// the queue ID, or "" when r ended before the E record (the client canceled).
func drop(q *queue.Queue, r io.Reader, uid int) (string, error) {
	syscall.Umask(022)
	f, err := q.Create(queue.Maildrop, 0)
	if err != nil {
		return "", fmt.Errorf("create file %s: %w", queue.Maildrop, unwrapPath(err))
	}
	current.Lock()
	current.path = f.Path
	current.Unlock()
	ok := false
	defer func() {
		if !ok {
			f.Abort()
		}
		current.Lock()
		current.path = ""
		current.Unlock()
	}()
	now := time.Now()
	if err := f.RecordString(queue.RecTime, fmt.Sprintf("%d %d", now.Unix(), now.Nanosecond()/1000)); err != nil {
		return "", err
	}
	rr := queue.NewRecordReader(bufio.NewReaderSize(r, 64<<10), 0)
	var check queue.MaildropCheck
	for !check.Complete() {
		typ, data, _, err := rr.Next()
		if err == io.EOF {
			return "", nil
		}
		if err != nil {
			if errors.Is(err, queue.ErrCorrupt) {
				return "", &protoError{err}
			}
			return "", err
		}
		skip, err := check.Check(typ, data)
		if err != nil {
			return "", &protoError{err}
		}
		if skip {
			name, _, _ := cutString(string(data), '=')
			warn("uid=%d: ignoring attribute record: %s", uid, name)
			continue
		}
		if err := f.Record(typ, data); err != nil {
			return "", fmt.Errorf("write file %s: %w", f.Path, err)
		}
	}
	if err := check.Finish(); err != nil {
		return "", &protoError{err}
	}
	if err := f.Commit(0044); err != nil {
		return "", fmt.Errorf("write file %s: %w", f.Path, err)
	}
	ok = true
	return f.ID, nil
}

func cutString(s string, sep byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// wakePickup tells pickup a file is waiting. Failure is harmless: pickup scans maildrop by
// itself, and with the mail system down the message simply waits.
func wakePickup(q *queue.Queue) {
	path := q.Socket("public", "pickup")
	if _, err := os.Stat(path); err != nil {
		warn("unable to look up public/pickup: %s", printable.Strerror(err))
		return
	}
	ipc.Trigger(path, "W", time.Second)
}

// mlog is the mail log once main.cf is read. Like Postfix's postdrop, warnings and fatal
// errors go to standard error and to the log; for an ordinary user, who may not write
// maillog_file, through postlogd (postdrop is set-gid postdrop, so it reaches public/postlog).
var mlog *maillog.Logger

func warn(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "postdrop: warning: "+format+"\n", args...)
	if mlog != nil && !mlog.ToStderr() {
		mlog.Warn(format, args...)
	}
}

func fatal(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "postdrop: fatal: "+format+"\n", args...)
	if mlog != nil && !mlog.ToStderr() {
		mlog.Info("fatal: "+format, args...)
		mlog.Close()
	}
	os.Exit(code)
}
