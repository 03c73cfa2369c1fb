package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"postern/pkg/testenv"
)

// TestCrashSafety streams messages while cleanup, qmgr and local are
// killed with SIGKILL in turn: every message answered 250 must reach the
// mailbox at least once.
func TestCrashSafety(t *testing.T) {
	need(t, append(core, "postfix")...)
	name, _, _ := testenv.CurrentUser(t)
	// Short retry times so that deferred mail comes back within the test;
	// a dot lock left by a killed local is broken after stale_lock_time
	// (Postfix's 500s would outlast the test).
	e := testenv.Start(t, testenv.Options{MainCF: "minimal_backoff_time = 1s\n" +
		"maximal_backoff_time = 2s\nqueue_run_delay = 1s\ntransport_retry_time = 1s\n" +
		"stale_lock_time = 3s\n"})

	const total, conns = 200, 4
	var (
		mu    sync.Mutex
		acked = map[int]string{} // subject number -> queue ID
		fails int
	)
	stop := make(chan struct{})
	kills := map[string]int{}
	var killer sync.WaitGroup
	killer.Add(1)
	go func() {
		defer killer.Done()
		victims := []string{"cleanup", "qmgr", "local"}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
			v := victims[i%len(victims)]
			for _, pid := range e.PIDsOf(t, v) {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					kills[v]++
				}
			}
		}
	}()

	var senders sync.WaitGroup
	for w := 0; w < conns; w++ {
		senders.Add(1)
		go func(w int) {
			defer senders.Done()
			var c *smtp.Client
			for n := w; n < total; n += conns {
				if c == nil {
					var err error
					if c, err = smtp.Dial(e.SMTPAddr); err != nil {
						mu.Lock()
						fails++
						t.Logf("dial: %v", err)
						mu.Unlock()
						time.Sleep(100 * time.Millisecond)
						continue
					}
				}
				body := fmt.Sprintf("Subject: crash %d\n\nmessage number %d\n", n, n)
				id, err := testenv.SubmitOn(c, "crash@example.org", []string{name + "@postern.test"}, body)
				mu.Lock()
				if err == nil {
					acked[n] = id
				} else {
					fails++
					if fails <= 5 {
						t.Logf("message %d: %v", n, err)
					}
				}
				mu.Unlock()
				// Spread the stream over several seconds so that every
				// daemon is killed a few times while mail flows.
				time.Sleep(100 * time.Millisecond)
				if err != nil {
					// A 4xx leaves the session usable, but start afresh so
					// a broken connection is never reused.
					c.Close()
					c = nil
				}
			}
			if c != nil {
				c.Quit()
				c.Close()
			}
		}(w)
	}
	senders.Wait()
	close(stop)
	killer.Wait()
	t.Logf("accepted %d of %d (%d refused or failed); kills: %v", len(acked), total, fails, kills)
	if len(acked) == 0 {
		t.Fatal("no message was accepted")
	}

	deadline := time.Now().Add(3 * time.Minute)
	for !e.QueueEmpty() {
		if time.Now().After(deadline) {
			t.Fatalf("queue not empty after 3 minutes:\n%s", e.QueueListing())
		}
		e.Run("postfix", "-c", e.ConfigDir, "flush")
		time.Sleep(time.Second)
	}

	if n := e.QueueIncomplete(); n > 0 {
		t.Logf("%d incomplete (never acknowledged) files left in incoming/ by killed cleanups", n)
	}
	seen := map[int]int{}
	for _, m := range regexp.MustCompile(`(?m)^Subject: crash (\d+)$`).FindAllStringSubmatch(e.Mbox(name), -1) {
		n, _ := strconv.Atoi(m[1])
		seen[n]++
	}
	var unacked []int
	for n := range seen {
		if _, ok := acked[n]; !ok {
			unacked = append(unacked, n)
		}
	}
	if len(unacked) > 0 {
		t.Logf("delivered without a 250 (the reply was lost or refused after queueing): %v", unacked)
	}
	lost, dups := 0, 0
	for n, id := range acked {
		switch {
		case seen[n] == 0:
			lost++
			t.Errorf("message %d (queue ID %s) was accepted but never delivered", n, id)
		case seen[n] > 1:
			dups++
		}
	}
	t.Logf("delivered %d distinct messages, %d accepted ones more than once, %d lost", len(seen), dups, lost)
}
