package main

import "testing"

// TestInsufficientStorage: MAIL FROM is refused with 452 4.3.1 while the queue file system
// has less than queue_minfree free, and accepted again once the limit is met (space is
// read anew for each MAIL FROM).
func TestInsufficientStorage(t *testing.T) {
	e := startSmtpd(t, "queue_minfree = 1000000000000000\n")
	c := e.dial()
	c.reply()
	c.cmd("EHLO client", "250-")
	c.cmd("MAIL FROM:<a@example.org>", "452 4.3.1 Insufficient system storage")
	e.waitLog("NOQUEUE: reject: MAIL from localhost[127.0.0.1]: 452 4.3.1 Insufficient system storage; proto=ESMTP helo=<client>")
	e.srv.queueMinfree = 0
	c.cmd("MAIL FROM:<a@example.org>", "250 2.1.0 Ok")
	c.cmd("RSET", "250")
	c.cmd("MAIL FROM:<a@example.org> SIZE=20000000", "552 5.3.4")
}
