package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"postern/pkg/config"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
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
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		a := args[0]
		args = args[1:]
		if a == "--" {
			break
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			switch c {
			case 'v':
			case 'f', 'j', 'p':
				mode = c
			case 'c', 'i', 's':
				val := a[j+1:]
				if val == "" {
					if len(args) == 0 {
						return fail(exUsage, "%s", usage)
					}
					val, args = args[0], args[1:]
				}
				if c == 'c' {
					configDir = val
				} else {
					mode, arg = c, val
				}
				j = len(a)
			default:
				return fail(exUsage, "%s", usage)
			}
		}
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
		msgs, err := scan(q, showqOrder)
		if err != nil {
			return fail(exUnavailable, "Queue report unavailable - %v", err)
		}
		if mode == 'p' {
			err = writeListing(os.Stdout, msgs, cfg.Get("empty_address_recipient"))
		} else {
			err = writeJSON(os.Stdout, msgs)
		}
		if err != nil {
			return fail(exSoftware, "write: %v", err)
		}
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
	if name == queue.Deferred {
		now := time.Now()
		if err := os.Chtimes(q.Path(name, id), now, now); err != nil {
			return fail(exUnavailable, "%s: %v", id, err)
		}
		what = "D"
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
