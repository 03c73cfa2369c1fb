package main

import (
	"bufio"
	"fmt"
	"strconv"
	"time"

	"postern/pkg/ipc"
	"postern/pkg/queue"
)

// cleanupClient submits a notice through cleanup's public/cleanup (docs/DESIGN.md "cleanup
// service") in local rewrite context, so cleanup adds Message-Id: and Date:.
type cleanupClient struct {
	path      string
	timeout   time.Duration
	lineLimit int
}

// post queues one message from sender to rcpt and returns its queue ID.
func (c *cleanupClient) post(sender, rcpt string, lines []string) (string, error) {
	conn, err := ipc.Dial(c.path, 10*time.Second)
	if err != nil {
		return "", fmt.Errorf("connect to cleanup: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(c.timeout))
	hello, err := ipc.Read(conn.R)
	if err != nil {
		return "", fmt.Errorf("cleanup: %v", err)
	}
	id := hello.Get("queue_id")
	if id == "" {
		return "", fmt.Errorf("cleanup: %s", reasonOf(hello))
	}
	w := bufio.NewWriterSize(conn, 64<<10)
	now := time.Now()
	rec := func(t byte, s string) {
		if err == nil {
			err = queue.WriteRecord(w, t, []byte(s))
		}
	}
	rec(queue.RecTime, strconv.FormatInt(now.Unix(), 10)+" "+strconv.Itoa(now.Nanosecond()/1000))
	rec(queue.RecAttr, "rewrite_context=local")
	rec(queue.RecSender, sender)
	rec(queue.RecRcpt, rcpt)
	rec(queue.RecMesg, "")
	for _, l := range lines {
		if err == nil {
			err = queue.WriteLine(w, []byte(l), c.lineLimit)
		}
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
		return "", fmt.Errorf("cleanup: %s", reasonOf(reply))
	}
	if v := reply.Get("queue_id"); v != "" {
		id = v
	}
	return id, nil
}

func reasonOf(a ipc.Attrs) string {
	if r := a.Get("reason"); r != "" {
		return a.Get("status") + " " + a.Get("dsn") + " " + r
	}
	return "status " + a.Get("status")
}
