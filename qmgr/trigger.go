package main

import (
	"net"
	"time"
)

// trigger is a set of pending scan requests.
type trigger uint8

const (
	scanIncoming trigger = 1 << iota // W, I
	scanDeferred                     // D
	scanAll                          // A: ignore deferred time stamps on the next deferred scan
	// F also lifts defer_transports for the messages the next scan of each queue admits
	// (Postfix's QMGR_FLUSH_DFXP): postqueue -f, sendmail -q and postfix flush send FADI.
	flushIncoming
	flushDeferred
)

// handleTrigger serves one connection to public/qmgr: the request bytes a client writes at
// once (ipc.Trigger), then it is closed without waiting for the client's EOF, as Postfix's
// trigger server reads once: a second read would mostly park this goroutine until the
// client's close, once per message. Identical requests collapse into one pending flag. The
// deadline is short because master serves qmgr's socket one connection at a time (maxproc 1).
func (q *qmgr) handleTrigger(c net.Conn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var buf [64]byte
	n, _ := c.Read(buf[:])
	var t trigger
	for _, b := range buf[:n] {
		switch b {
		case 'W', 'I':
			t |= scanIncoming
		case 'D':
			t |= scanDeferred
		case 'A':
			t |= scanAll
		case 'F':
			q.transports.forget()
			t |= flushIncoming | flushDeferred
		}
	}
	if t != 0 {
		q.request(t)
	}
}

// request records scan requests and wakes the scheduler.
func (q *qmgr) request(t trigger) {
	q.mu.Lock()
	q.pending |= t
	q.mu.Unlock()
	q.poke()
}
