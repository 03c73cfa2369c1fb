package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"postern/pkg/handoff"
	"postern/pkg/ipc"
)

// helperFlag is argv[1] of a long-lived credentialed delivery helper.
const helperFlag = "-deliver-server"

// The helper protocol (see pool.go for local's side). The socket is a
// SOCK_SEQPACKET pair, so a packet is a whole message and its descriptor
// arrives with it:
//
//	local -> helper: 8-byte job id (big-endian) + job JSON, with exactly
//	                 one descriptor (the queue file, read-only) attached
//	helper -> local: 8-byte job id + one attribute list (dsn, reason,
//	                 warning...), no descriptors
const (
	maxJob       = 128 << 10        // job JSON; the largest a request can make is about 90 KiB
	maxReply     = 64 << 10         // one reply's attribute list
	maxReason    = 4 << 10          // a reason text in a reply
	maxWarnings  = 8                // warnings in a reply
	maxWarning   = 1 << 10          // one warning in a reply
	maxHelperJob = 256              // jobs a helper runs at once; more wait in the socket
	helperDrain  = 30 * time.Second // jobs in hand when local goes away
	idLen        = 8
)

// helperMain is the helper: it runs jobs from fd 3 concurrently (they all
// share this process's one identity, so goroutines are safe) until the
// socket closes, then lets the jobs in hand finish and exits.
func helperMain() int {
	f := os.NewFile(3, "delivery-socket")
	c, err := net.FileConn(f) // a close-on-exec duplicate: commands never see it
	f.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "delivery helper: %v\n", err)
		return 1
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		fmt.Fprintf(os.Stderr, "delivery helper: fd 3 is not a unix socket\n")
		return 1
	}
	// The helper runs with a user's uid; without this, that user could
	// ptrace it and use its socket to local.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	// Up to 64 helpers idle at once: keep each one's heap small (the
	// measured CPU cost is in the noise).
	debug.SetGCPercent(25)
	if err := serveHelper(uc); err != nil {
		fmt.Fprintf(os.Stderr, "delivery helper: %v\n", err)
		return 2
	}
	return 0
}

// serveHelper reads jobs until end of file (local closed the socket, or
// died) or SIGTERM (Pdeathsig: local died), then finishes the jobs in hand
// for at most helperDrain, so that local's death never cuts a mailbox
// write short. Protocol errors end the helper: local then fails its jobs
// in flight and starts a new one.
func serveHelper(uc *net.UnixConn) error {
	var (
		wmu   sync.Mutex
		wg    sync.WaitGroup
		slots = make(chan struct{}, maxHelperJob)
		oob   = make([]byte, unix.CmsgSpace(4*4))
		buf   = make([]byte, idLen+maxJob+1)
	)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		uc.SetReadDeadline(time.Now()) // stop taking jobs; replies still go out
	}()
	defer func() {
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(helperDrain):
		}
	}()
	for {
		slots <- struct{}{}
		n, oobn, flags, _, err := uc.ReadMsgUnix(buf, oob)
		fds := handoff.ReceivedFDs(oob[:oobn])
		if err != nil || n == 0 {
			handoff.CloseFDs(fds)
			return nil
		}
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || n < idLen || len(fds) != 1 {
			handoff.CloseFDs(fds)
			return fmt.Errorf("malformed job packet (%d bytes, %d descriptors, flags %#x)", n, len(fds), flags)
		}
		id := binary.BigEndian.Uint64(buf)
		blob := append([]byte(nil), buf[idLen:n]...)
		qf := os.NewFile(uintptr(fds[0]), "queue-file") // close-on-exec: ReadMsgUnix uses MSG_CMSG_CLOEXEC
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			r := helperJob(blob, qf)
			pkt := binary.BigEndian.AppendUint64(make([]byte, 0, 512), id)
			pkt = append(pkt, ipc.Encode(replyAttrs(r))...)
			wmu.Lock()
			uc.SetWriteDeadline(time.Now().Add(helperSendTO))
			uc.Write(pkt) // an error means local is gone; the read loop sees it
			wmu.Unlock()
		}()
	}
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
