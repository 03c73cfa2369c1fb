package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"time"

	"postern/pkg/auth"
	"postern/pkg/ipc"
	"postern/pkg/runas"
)

// helperFlag is argv[1] of a long-lived credentialed delivery helper.
const helperFlag = "-deliver-server"

// A helper is a pkg/runas server: local sends it a job (JSON) with the
// queue file attached (read-only), and it answers with one attribute list
// (dsn, reason, warning...).
const (
	maxJob       = 128 << 10        // job JSON; the largest a request can make is about 90 KiB
	maxReply     = 64 << 10         // one reply's attribute list
	maxReason    = 4 << 10          // a reason text in a reply
	maxWarnings  = 8                // warnings in a reply
	maxWarning   = 1 << 10          // one warning in a reply
	maxHelperJob = 256              // jobs a helper runs at once; more wait in the socket
	helperDrain  = 30 * time.Second // jobs in hand when local goes away
	helperMax    = 64               // identities with a helper at once
	helperIdle   = 30 * time.Second // a helper without jobs for this long is closed
)

// newHelperPool is local's pool of delivery helpers, one per identity
// (doc.go, "Security"). Starting a credentialed process costs tens of
// milliseconds; the pool pays that once per identity and idle period
// instead of once per delivery.
func newHelperPool(exe string, warn func(string, ...any)) *runas.Pool {
	return &runas.Pool{Exe: exe, Args: []string{helperFlag}, Max: helperMax, Idle: helperIdle,
		Name: "delivery helper", Request: "job", MaxRequest: maxJob, MaxReply: maxReply, Warn: warn,
		// runas.Command's credentials and Pdeathsig: SIGTERM, not SIGKILL,
		// so a helper lets the writes in hand finish (serveHelper) rather
		// than leave half a message and a stale dot lock behind. Its
		// environment is local's own; its standard error goes to the log
		// when it fails.
		Setup: func(cmd *exec.Cmd, _ *auth.User) { cmd.Env = childEnv() }}
}

// runHelper runs one job in the helper for uid/gid and waits for its
// reply: 4.3.0 when the helper cannot start, never gets the job (tried
// twice), dies with it in hand, or gives no answer within the job's own
// time limits plus a minute (then it is killed, with its other jobs).
func (s *server) runHelper(j *job, blob []byte, qf *os.File, uid, gid int) result {
	limit := j.TimeLimit + j.lockWait() + time.Minute
	ctx, cancel := context.WithTimeoutCause(context.Background(), limit,
		fmt.Errorf("no reply for %s within %v", j.User, limit))
	defer cancel()
	who := fmt.Sprintf("delivery helper for uid %d gid %d", uid, gid)
	out, err := s.pool.Call(ctx, &auth.User{UID: uid, GID: gid}, blob, qf, nil)
	if err == nil {
		a, err := ipc.Read(bufio.NewReader(bytes.NewReader(out)))
		if err != nil {
			a = nil
		}
		return resultFromAttrs(a, j.User, who)
	}
	r := fail("4.3.0", "delivery as user %s failed", j.User)
	var se *runas.StartError
	var ge *runas.GoneError
	switch {
	case errors.As(err, &se):
		r.Warnings = []string{fmt.Sprintf("start %s: %v", who, se.Err)}
	case errors.As(err, &ge):
		r.Warnings = []string{fmt.Sprintf("%s %s with the delivery in progress", who, ge.Why)}
	default:
		r.Warnings = []string{fmt.Sprintf("%s: %v", who, err)}
	}
	return r
}

// helperMain is the helper: it runs jobs from fd 3 concurrently (they all
// share this process's one identity, so goroutines are safe) until the
// socket closes or SIGTERM (Pdeathsig: local died), then finishes the
// jobs in hand for at most helperDrain, so that local's death never cuts
// a mailbox write short. Protocol errors end the helper: local then fails
// its jobs in flight and starts a new one.
func helperMain() int {
	// Up to 64 helpers idle at once: keep each one's heap small (the
	// measured CPU cost is in the noise).
	debug.SetGCPercent(25)
	err := runas.Serve(3, runas.ServeOptions{MaxRequest: maxJob, Max: maxHelperJob, Drain: helperDrain},
		func(blob []byte, qf *os.File) []byte { return ipc.Encode(replyAttrs(helperJob(blob, qf))) })
	if err != nil {
		fmt.Fprintf(os.Stderr, "delivery helper: %v\n", err)
		return 2
	}
	return 0
}

// helperJob decodes and runs one job and closes its queue file: the
// helper keeps no descriptor beyond the job it serves.
func helperJob(blob []byte, qf *os.File) (r result) {
	defer qf.Close()
	defer func() {
		if p := recover(); p != nil {
			r = fail("4.3.0", "internal error")
			r.Warnings = []string{fmt.Sprintf("delivery helper: panic: %v", p)}
		}
	}()
	var j job
	if err := json.Unmarshal(blob, &j); err != nil {
		return fail("4.3.0", "delivery helper: bad job: %v", err)
	}
	return runJob(&j, qf)
}

// replyAttrs is a result as an attribute list, cut to fit a reply packet.
func replyAttrs(r result) ipc.Attrs {
	a := ipc.Attrs{{Name: "dsn", Value: r.Code}, {Name: "reason", Value: cut(r.Text, maxReason)}}
	for i, w := range r.Warnings {
		if i == maxWarnings {
			break
		}
		a = append(a, ipc.Attr{Name: "warning", Value: cut(w, maxWarning)})
	}
	return a
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
