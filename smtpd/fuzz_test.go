package main

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzSession feeds arbitrary client input to a whole session over a pipe: smtpd must not
// panic (recoverPanics is off, so a panic fails the test), and the session must end once
// the client is gone. The command parser alone is fuzzed by pkg/smtpcmd's FuzzPath.
func FuzzSession(f *testing.F) {
	recoverPanics = false
	f.Cleanup(func() { recoverPanics = true })
	for _, s := range []string{
		"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<fmaster@localhost>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
		"MAIL FROM:<root>\r\nRCPT TO:<postmaster>\r\nBDAT 5 LAST\r\nhello",
		"HELO\r\nEHLO\r\n\r\n\x00\r\nSubject: hi\r\n",
		"EHLO x\r\nMAIL FROM:<> SIZE=99999999999\r\nRCPT TO:<x@remote.example> NOTIFY=NEVER\r\nDATA\r\n",
		"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<fmaster@localhost>\r\nBDAT 3\r\nabcBDAT 0 LAST\r\nRSET\r\n",
		"AUTH PLAIN AGZvbwBiYXI=\r\nSTARTTLS\r\nVRFY\r\nNOOP\r\nfoo\r\n",
		"EHLO x\nMAIL FROM:<\"a b\"@c>\nRCPT TO:<a%b@localhost>\nDATA\n.\n\r\n.\r\n",
		"EHLO x\r\nMAIL FROM:<a@b> SIZE=5 RET=FULL ENVID=a+2B\r\nRCPT TO:<fmaster@localhost> NOTIFY=NEVER ORCPT=rfc822;x\r\nBDAT 2\r\nabBDAT 0\r\nBDAT 1 LAST\r\nc",
		"EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<fmaster@localhost>\r\nBDAT 99999999999999999999\r\n",
	} {
		f.Add(s)
	}
	e := newTestServer(f, "smtpd_timeout = 2s\nmynetworks = 192.0.2.0/24\n")
	f.Fuzz(func(t *testing.T, in string) {
		cli, srv := net.Pipe()
		done := make(chan struct{})
		go func() {
			e.srv.handle(srv)
			close(done)
		}()
		go io.Copy(io.Discard, cli)
		cli.SetWriteDeadline(time.Now().Add(5 * time.Second))
		io.Copy(cli, strings.NewReader(in))
		cli.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("session did not end for input %q", in)
		}
	})
}
