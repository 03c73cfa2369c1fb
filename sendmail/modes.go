package main

import (
	"os"
	"syscall"
	"time"

	"postern/pkg/config"
	"postern/pkg/ipc"
	"postern/pkg/queue"
)

// execProgram replaces sendmail with another Postern command, as Postfix's sendmail does
// for mailq (postqueue -p), newaliases (postalias), flush (postqueue -f) and -bd (postfix
// start). It returns only on failure.
func execProgram(cfg *config.Config, name string, args ...string) error {
	path, err := findProgram(cfg, name)
	if err != nil {
		return exitf(exUnavailable, "unable to execute %s: %v", name, err)
	}
	argv := append([]string{name, "-c", cfg.Dir()}, args...)
	err = syscall.Exec(path, argv, os.Environ())
	return exitf(exUnavailable, "unable to execute %s: %v", path, err)
}

// newaliases runs postalias on every alias database (-oA values, else alias_database).
func newaliases(cfg *config.Config, o *options) error {
	maps := o.aliasMaps
	if len(maps) == 0 {
		maps = cfg.List("alias_database")
	}
	if len(maps) == 0 {
		return nil
	}
	return execProgram(cfg, "postalias", maps...)
}

// flush asks for a queue run. postqueue does it when it exists; until then sendmail sends
// qmgr the same triggers itself (forget dead destinations, ignore deferred times, scan
// deferred, scan incoming).
func flush(cfg *config.Config, o *options) error {
	var args []string
	switch {
	case o.site != "":
		args = []string{"-s", o.site}
	case o.qid != "":
		args = []string{"-i", o.qid}
	default:
		args = []string{"-f"}
	}
	if _, err := findProgram(cfg, "postqueue"); err == nil {
		return execProgram(cfg, "postqueue", args...)
	}
	q := queue.New(cfg.Get("queue_directory"))
	if err := ipc.Trigger(q.Socket("public", "qmgr"), "FADI", 5*time.Second); err != nil {
		return exitf(exUnavailable, "Cannot flush mail queue - mail system is down")
	}
	return nil
}
