package e2e

import (
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"postern/pkg/testenv"
)

// TestCrashStream streams 2,000 messages (SMTP on four connections, every tenth through
// sendmail) while a randomly chosen daemon among smtpd, cleanup, qmgr, local and pickup
// gets SIGKILL every second. Every message answered 250 (or sendmail exit 0) must be
// delivered; duplicates are allowed (a delivery whose outcome qmgr never recorded is
// repeated) and their number is logged.
func TestCrashStream(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 2,000 messages")
	}
	need(t, append(core, "pickup", "sendmail", "postdrop", "postfix", "postqueue")...)
	u, _, _ := testenv.User(t)
	e := testenv.Start(t, testenv.Options{MainCF: crashMainCF})
	rcpt := u + "@postern.test"
	msg := func(n int) string {
		return fmt.Sprintf("Subject: stream %d\nMessage-Id: <stream-%d@test>\n\nbody %d\n", n, n, n)
	}

	const total, conns = 2000, 4
	var (
		mu      sync.Mutex
		acked   = map[int]bool{}
		refused int
		next    atomic.Int64
	)
	stop := make(chan struct{})
	kills := map[string]int{}
	var killer sync.WaitGroup
	killer.Add(1)
	go func() {
		defer killer.Done()
		victims := []string{"smtpd", "cleanup", "qmgr", "local", "pickup"}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			v := victims[rand.Intn(len(victims))]
			for _, pid := range e.PIDsOf(t, v) {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					kills[v]++
				}
			}
		}
	}()

	start := time.Now()
	var senders sync.WaitGroup
	for w := 0; w < conns; w++ {
		senders.Add(1)
		go func() {
			defer senders.Done()
			var c *smtp.Client
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for {
				n := int(next.Add(1) - 1)
				if n >= total {
					return
				}
				var err error
				if n%10 == 9 {
					if code, out := sendmailCode(t, e, msg(n), rcpt); code != 0 {
						err = fmt.Errorf("sendmail exit %d: %s", code, out)
					}
				} else {
					if c == nil {
						c, err = smtp.Dial(e.SMTPAddr)
					}
					if err == nil {
						_, err = testenv.SubmitOn(c, "stream@example.org", []string{rcpt}, msg(n))
						if err != nil {
							// A 4xx leaves the session usable, but a killed smtpd does not:
							// start afresh either way.
							c.Close()
							c = nil
						}
					}
				}
				mu.Lock()
				if err == nil {
					acked[n] = true
				} else {
					refused++
					if refused <= 5 {
						t.Logf("message %d: %v", n, err)
					}
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(50 * time.Millisecond) // the killed daemon's restart
				}
			}
		}()
	}
	senders.Wait()
	sent := time.Since(start)
	close(stop)
	killer.Wait()
	t.Logf("accepted %d of %d in %v (%d refused or failed); kills: %v", len(acked), total, sent.Round(time.Millisecond), refused, kills)
	if len(acked) < total/2 {
		t.Fatalf("only %d of %d accepted", len(acked), total)
	}

	deadline := time.Now().Add(2 * time.Minute)
	for !e.QueueEmpty() {
		if time.Now().After(deadline) {
			t.Fatalf("queue not empty after 2 minutes: %s", queueSummary(e))
		}
		e.Run("postqueue", "-c", e.ConfigDir, "-f")
		time.Sleep(time.Second)
	}
	t.Logf("queue empty %v after the last submission", time.Since(start.Add(sent)).Round(time.Millisecond))

	seen := countIDs(e.Mbox(u), "stream")
	lost, dups, extra := 0, 0, 0
	for n := 0; n < total; n++ {
		c := seen[fmt.Sprintf("stream-%d", n)]
		switch {
		case acked[n] && c == 0:
			lost++
			if lost <= 20 {
				t.Errorf("message %d was accepted but never delivered", n)
			}
		case c > 1:
			dups += c - 1
		case !acked[n] && c > 0:
			extra++
		}
	}
	t.Logf("delivered %d distinct messages; %d duplicate deliveries; %d delivered without an acknowledgement; %d lost",
		len(seen), dups, extra, lost)
	if n := e.QueueIncomplete(); n > 0 {
		t.Logf("%d incomplete (never acknowledged) files left in incoming/ by killed cleanups", n)
	}
}
