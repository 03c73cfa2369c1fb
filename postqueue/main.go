package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"postern/pkg/config"
	"postern/pkg/getopt"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/mailq"
	"postern/pkg/queue"
)

const usage = "usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -p | postqueue -s site"

// Exit statuses (sysexits.h).
const (
	exUsage       = 64
	exUnavailable = 69
	exSoftware    = 70
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run is postqueue without the process exit, for tests.
func run(args []string) int {
	var mode byte
	var configDir, arg string
	args, err := getopt.Parse(args, "vfjpc:i:s:", func(c byte, val string) error {
		switch c {
		case 'f', 'j', 'p':
			mode = c
		case 'c':
			configDir = val
		case 'i', 's':
			mode, arg = c, val
		}
		return nil
	})
	if err != nil {
		return fail(exUsage, "%s", usage)
	}
	if len(args) > 0 || mode == 0 {
		return fail(exUsage, "%s", usage)
	}
	cfg, err := config.Load(config.Dir(configDir))
	if err != nil {
		return fail(exSoftware, "%v", err)
	}
	q := queue.New(cfg.Get("queue_directory"))
	switch mode {
	case 'p', 'j':
		return showQueue(cfg, q, mode == 'j')
	case 'f', 's':
		// Without a fast-flush service, -s site flushes everything: more than asked, never less.
		if err := ipc.Trigger(q.Socket("public", "qmgr"), "FADI", triggerTimeout(cfg)); err != nil {
			return fail(exUnavailable, "Cannot flush mail queue - mail system is down")
		}
	case 'i':
		return flushOne(cfg, q, arg)
	}
	return 0
}

// showQueue prints the queue report (-p, or -j when asJSON) that the showq service streams
// from public/showq. As Postfix's postqueue does, it reads the queue itself only when showq
// cannot be reached and it runs as root; a user who may not reach the socket is told so
// rather than that the mail system is down.
func showQueue(cfg *config.Config, q *queue.Queue, asJSON bool) int {
	out := bufio.NewWriter(os.Stdout)
	var list *mailq.Listing
	if !asJSON {
		list = mailq.NewListing(out, cfg.Get("empty_address_recipient"))
	}
	print := func(m mailq.Message) error {
		if asJSON {
			return mailq.WriteJSON(out, m)
		}
		return list.Add(m)
	}
	name := cfg.Get("showq_service_name")
	if name == "" {
		name = "showq"
	}
	c, err := net.DialTimeout("unix", q.Socket("public", name), triggerTimeout(cfg))
	switch {
	case err == nil:
		defer c.Close()
		r := bufio.NewReaderSize(c, 64<<10)
		for {
			m, err := mailq.Receive(r)
			if err == io.EOF {
				break
			}
			if err != nil {
				out.Flush()
				return fail(exSoftware, "read from %s service: %v", name, err)
			}
			if err := print(m); err != nil {
				return writeFailed(err)
			}
		}
	case errors.Is(err, syscall.EACCES):
		return fail(exSoftware, "Connect to the Postfix %s service: Permission denied", name)
	case os.Geteuid() == 0:
		warn(cfg, "Mail system is down -- accessing queue directly")
		var werr error
		err := mailq.Scan(q, func(m mailq.Message) error {
			werr = print(m)
			return werr
		})
		if werr != nil {
			return writeFailed(werr)
		}
		if err != nil {
			out.Flush()
			return fail(exUnavailable, "Queue report unavailable - %v", err)
		}
	default:
		return fail(exUnavailable, "Queue report unavailable - mail system is down")
	}
	if list != nil {
		if err := list.Close(); err != nil {
			return writeFailed(err)
		}
	} else if err := out.Flush(); err != nil {
		return writeFailed(err)
	}
	return 0
}

func writeFailed(err error) int { return fail(exSoftware, "write error: %v", err) }

func triggerTimeout(cfg *config.Config) time.Duration {
	if d := cfg.Duration("trigger_timeout"); d > 0 {
		return d
	}
	return 10 * time.Second
}

// flushOne makes one deferred message due now and wakes qmgr, as the flush service does for
// postqueue -i.
func flushOne(cfg *config.Config, q *queue.Queue, id string) int {
	if !queue.ValidID(id) {
		return fail(exUsage, "bad queue ID: %s", id)
	}
	name, ok := q.Find(id)
	if !ok {
		warn(cfg, "%s: no such queue file", id)
		return 0
	}
	what := "I"
	path := q.Path(name, id)
	if name == queue.Deferred {
		now := time.Now()
		if err := os.Chtimes(path, now, now); err != nil {
			return fail(exUnavailable, "%s: %v", id, err)
		}
		what = "D"
	}
	// Delivered now even over a transport in defer_transports, as Postfix's flush service
	// has it.
	if fi, err := os.Stat(path); err == nil && queue.Ready(fi) {
		os.Chmod(path, fi.Mode().Perm()|queue.Unthrottle)
	}
	if err := ipc.Trigger(q.Socket("public", "qmgr"), what, triggerTimeout(cfg)); err != nil {
		return fail(exUnavailable, "Cannot flush mail queue - mail system is down")
	}
	return 0
}

func fail(code int, format string, a ...any) int {
	msg := fmt.Sprintf(format, a...)
	if strings.HasPrefix(msg, "usage:") {
		fmt.Fprintf(os.Stderr, "%s\n", msg)
	} else {
		fmt.Fprintf(os.Stderr, "%s: fatal: %s\n", prog(), msg)
	}
	return code
}

func warn(cfg *config.Config, format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s: warning: %s\n", prog(), fmt.Sprintf(format, a...))
	l := maillog.FromConfig("postqueue", cfg.Get)
	if !l.ToStderr() {
		l.Warn(format, a...)
	}
	l.Close()
}

func prog() string { return "postqueue" }
