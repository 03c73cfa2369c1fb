package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"postern/pkg/deliver"
	"postern/pkg/dsn"
	"postern/pkg/ipc"
	"postern/pkg/queue"
)

// fwdGroup is one new message: the destinations that share an envelope
// sender and a Delivered-To value (Postfix's forward_append tables).
type fwdGroup struct {
	sender, delivered string
	list              bool // owner- list mail: no original recipients
	rcpts             []fwdRcpt
}

type fwdRcpt struct {
	addr string
	st   state
}

// forward queues a destination for resubmission through cleanup, which
// happens once the whole expansion is known (finish).
func (x *expansion) forward(a string, st state) {
	if x.been("forward-to " + strings.ToLower(a) + " " + st.sender) {
		return
	}
	for _, g := range x.fwd {
		if g.sender == st.sender && g.delivered == st.delivered {
			g.rcpts = append(g.rcpts, fwdRcpt{a, st})
			return
		}
	}
	x.fwd = append(x.fwd, &fwdGroup{sender: st.sender, delivered: st.delivered, list: st.list,
		rcpts: []fwdRcpt{{a, st}}})
}

// sendForwards submits each group and logs every destination in it:
// "forwarded as NEWID", or deferred when cleanup could not take it.
func (x *expansion) sendForwards() {
	for _, g := range x.fwd {
		id, err := x.s.xc.post(x, g)
		status := dsn.Sent("2.0.0", "forwarded as %s", id)
		if err != nil {
			x.s.log.Warn("%s: forward to %s: %v", x.r.QueueID, deliver.Printable(g.rcpts[0].addr), err)
			status = dsn.Defer("4.3.0", "unable to forward message")
		}
		for _, fr := range g.rcpts {
			x.record(fr.addr, fr.st, status)
		}
	}
	x.fwd = nil
}

// postForward writes one new message through public/cleanup: our
// Received: and Delivered-To: headers, then the original content, as
// Postfix's forward_send().
func postForward(x *expansion, g *fwdGroup) (string, error) {
	xc, r := x.s.xc, x.r
	timeout := min(x.s.cfg.ipcTimeout, 10*time.Minute)
	conn, err := ipc.Dial(xc.cleanupService, 10*time.Second)
	if err != nil {
		return "", fmt.Errorf("connect to cleanup: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	hello, err := ipc.Read(conn.R)
	if err != nil {
		return "", fmt.Errorf("cleanup: %v", err)
	}
	id := hello.Get("queue_id")
	if id == "" {
		return "", errors.New("cleanup: no queue ID")
	}
	w := bufio.NewWriterSize(conn, 64<<10)
	rec := func(t byte, s string) {
		if err == nil {
			err = queue.WriteRecord(w, t, []byte(s))
		}
	}
	now := time.Now()
	rec(queue.RecTime, strconv.FormatInt(now.Unix(), 10)+" "+strconv.Itoa(now.Nanosecond()/1000))
	rec(queue.RecAttr, "rewrite_context=remote")
	for _, a := range [][2]string{{"log_client_name", r.ClientName}, {"log_client_address", r.ClientAddr},
		{"log_protocol_name", r.ClientProto}, {"log_helo_name", r.ClientHelo}, {"sasl_method", r.SASLMethod},
		{"sasl_username", r.SASLUser}, {"sasl_sender", r.SASLSender}} {
		if a[1] != "" {
			rec(queue.RecAttr, a[0]+"="+a[1])
		}
	}
	rec(queue.RecSender, g.sender)
	for _, fr := range g.rcpts {
		if !g.list && fr.st.orig != "" {
			rec(queue.RecOrig, fr.st.orig)
		}
		rec(queue.RecRcpt, fr.addr)
	}
	rec(queue.RecMesg, "")
	rec(queue.RecNorm, "Received: by "+xc.myhostname+" ("+xc.mailName+")")
	rec(queue.RecNorm, "\tid "+id+"; "+now.Local().Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)"))
	if xc.fwdDelivered {
		rec(queue.RecNorm, "Delivered-To: "+strings.ToLower(deliver.Printable(g.delivered)))
	}
	if err == nil {
		err = copyContent(w, x)
	}
	rec(queue.RecXtra, "")
	rec(queue.RecEnd, "")
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return "", fmt.Errorf("cleanup: %v", err)
	}
	reply, err := ipc.Read(conn.R)
	if err != nil {
		return "", fmt.Errorf("cleanup: %v", err)
	}
	if reply.Get("status") != "0" {
		return "", fmt.Errorf("cleanup: status %s %s %s", reply.Get("status"), reply.Get("dsn"), reply.Get("reason"))
	}
	if v := reply.Get("queue_id"); v != "" {
		id = v
	}
	return id, nil
}

// copyContent copies the message's N and L records, as stored, up to X.
func copyContent(w io.Writer, x *expansion) error {
	rr := queue.NewRecordReader(io.NewSectionReader(x.qf, x.r.Offset, 1<<62), x.r.Offset)
	for {
		typ, data, _, err := rr.Next()
		if err != nil {
			return fmt.Errorf("read queue file: %v", err)
		}
		switch typ {
		case queue.RecNorm, queue.RecCont:
			if err := queue.WriteRecord(w, typ, data); err != nil {
				return err
			}
		case queue.RecXtra:
			return nil
		default:
			return fmt.Errorf("bad record type %q in message content", typ)
		}
	}
}
