package main

import (
	"sync"
	"time"

	"postern/pkg/ipc"
	"postern/pkg/queue"
)

// out is the queue file being written. The first write error is remembered and ends all
// further writing: the caller keeps reading its client to the end and then answers with a
// write error, so one check at the end is enough.
type out struct {
	f     *queue.File
	err   error
	limit int    // line_length_limit: longer lines become L records
	pend  []byte // start of a line that arrived in pieces, < limit bytes
	nlen  int64  // message length: line bytes plus one newline per line, as written

	sizeOff    int64 // offset of the C record's data
	dataOffset int64 // offset of the first content record (after M)
	xtraOffset int64 // offset of the X record
}

func (o *out) rec(typ byte, data []byte) {
	if o.err == nil {
		o.err = o.f.Record(typ, data)
	}
}

func (o *out) recString(typ byte, data string) {
	if o.err == nil {
		o.err = o.f.RecordString(typ, data)
	}
}

// write stores content text. final says that b ends a line; otherwise it is a piece of a
// line whose rest follows. Lines longer than the limit are cut into L records of exactly
// limit bytes whatever the pieces the client sent, so readers see Postfix's shapes.
func (o *out) write(b []byte, final bool) {
	o.nlen += int64(len(b))
	if final {
		o.nlen++
	}
	if o.err != nil {
		return
	}
	if len(o.pend) > 0 {
		n := min(o.limit-len(o.pend), len(b))
		o.pend = append(o.pend, b[:n]...)
		b = b[n:]
		if len(b) == 0 {
			if final {
				o.rec(queue.RecNorm, o.pend)
				o.pend = o.pend[:0]
			}
			return
		}
		o.rec(queue.RecCont, o.pend)
		o.pend = o.pend[:0]
	}
	for len(b) > o.limit {
		o.rec(queue.RecCont, b[:o.limit])
		b = b[o.limit:]
	}
	if final {
		o.rec(queue.RecNorm, b)
	} else {
		o.pend = append(o.pend, b...)
	}
}

// line stores one whole content line.
func (o *out) line(b []byte) { o.write(b, true) }

// lineString is line for text cleanup made up itself (added headers).
func (o *out) lineString(s string) { o.write([]byte(s), true) }

// begin writes the C placeholder, remembering where its data sits for the final patch.
func (o *out) begin() {
	o.sizeOff = o.f.Offset() + 2 // type byte + one length byte (SizeRecordLen < 128)
	o.rec(queue.RecSize, queue.SizeData(0, 0, 0, 0, 0, 0))
}

// startContent writes M and notes where the content starts.
func (o *out) startContent() {
	o.rec(queue.RecMesg, nil)
	o.dataOffset = o.f.Offset()
}

// endContent writes X and notes where the content ends.
func (o *out) endContent() {
	if len(o.pend) > 0 { // a client that ended content inside a line: close that line
		o.write(nil, true)
	}
	o.xtraOffset = o.f.Offset()
	o.rec(queue.RecXtra, nil)
}

// commit writes E, patches the C record and makes the file durable and ready: one fsync.
func (o *out) commit(nrcpt int) error {
	o.rec(queue.RecEnd, nil)
	if o.err != nil {
		return o.err
	}
	size := queue.SizeData(o.xtraOffset-o.dataOffset, o.dataOffset, int64(nrcpt), 0, o.nlen, 0)
	if err := o.f.WriteAt(size, o.sizeOff); err != nil {
		return err
	}
	return o.f.Commit(0)
}

// trigger tells qmgr about new mail without blocking the reply path. Commits that happen
// while a wakeup is in flight, or less than triggerGap after it, collapse into one more
// wakeup after the gap, so qmgr always hears of the newest file but is not sent one
// connection (and does not scan incoming/ once) per message under load. An idle cleanup's
// first commit is announced at once.
type trigger struct {
	path    string
	timeout time.Duration
	once    sync.Once
	c       chan struct{}
}

func newTrigger(path string, timeout time.Duration) *trigger {
	return &trigger{path: path, timeout: timeout, c: make(chan struct{}, 1)}
}

func (t *trigger) kick() {
	t.once.Do(func() { go t.loop() })
	select {
	case t.c <- struct{}{}:
	default: // a wakeup is already pending; it will cover this file too
	}
}

// triggerGap is the least time between two wakeups from one cleanup: at a few hundred
// messages a second it gathers several into one scan, and delays a delivery by at most this.
const triggerGap = 10 * time.Millisecond

func (t *trigger) loop() {
	for range t.c {
		// Failure is harmless: qmgr also scans incoming on its own timer.
		ipc.Trigger(t.path, "W", t.timeout)
		time.Sleep(triggerGap)
	}
}
