package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"postern/pkg/cleanup"
	"postern/pkg/dsn"
	"postern/pkg/ipc"
	"postern/pkg/printable"
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
			x.s.log.Warn("%s: forward to %s: %v", x.r.QueueID, printable.Except(g.rcpts[0].addr, '_', "\t"), err)
			status = dsn.Defer("4.3.0", "unable to forward message")
		}
		for _, fr := range g.rcpts {
			x.record(fr.addr, fr.st, status)
		}
	}
	x.fwd = nil
}

// postForward writes one new message through public/cleanup (pkg/cleanup): our
// Received: and Delivered-To: headers, then the original content, as Postfix's
// forward_send().
func postForward(x *expansion, g *fwdGroup) (string, error) {
	xc, r := x.s.xc, x.r
	st, err := cleanup.Open(xc.cleanupService, min(x.s.cfg.ipcTimeout, 10*time.Minute))
	if err != nil {
		return "", fmt.Errorf("connect to cleanup: %v", err)
	}
	now := time.Now()
	st.Time(now)
	st.Attr("rewrite_context", "remote")
	st.Attrs(ipc.Attrs{{Name: "log_client_name", Value: r.ClientName}, {Name: "log_client_address", Value: r.ClientAddr},
		{Name: "log_protocol_name", Value: r.ClientProto}, {Name: "log_helo_name", Value: r.ClientHelo},
		{Name: "sasl_method", Value: r.SASLMethod}, {Name: "sasl_username", Value: r.SASLUser},
		{Name: "sasl_sender", Value: r.SASLSender}})
	st.Sender(g.sender)
	for _, fr := range g.rcpts {
		rc := cleanup.Recipient{Addr: fr.addr}
		if !g.list {
			rc.Orig = fr.st.orig
		}
		st.Recipient(rc)
	}
	st.Content()
	st.Line([]byte("Received: by " + xc.myhostname + " (" + xc.mailName + ")"))
	st.Line([]byte("\tid " + st.ID() + "; " + now.Local().Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")))
	if xc.fwdDelivered {
		st.Line([]byte("Delivered-To: " + strings.ToLower(printable.Except(g.delivered, '_', "\t"))))
	}
	if err := st.Copy(queue.NewRecordReader(io.NewSectionReader(x.qf, r.Offset, 1<<62), r.Offset)); err != nil {
		st.Abort()
		return "", fmt.Errorf("read queue file: %v", err)
	}
	st.Extracted()
	id, err := st.Close()
	if err != nil {
		return "", fmt.Errorf("cleanup: %v", err)
	}
	return id, nil
}
