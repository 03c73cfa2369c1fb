package e2e

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"postern/pkg/testenv"
)

// crashMainCF are short retry times, so that deferred mail comes back within a test, and a
// short stale_lock_time, so that a dot lock left by a killed local is broken in time.
const crashMainCF = "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\nqueue_run_delay = 1s\n" +
	"transport_retry_time = 1s\nstale_lock_time = 3s\n"

// TestCrashHoldRestart: with delivery held (master.cf without local: qmgr defers every
// recipient with "mail transport unavailable"), messages are accepted over SMTP and through
// sendmail; then every Postern process, master included, gets SIGKILL at once. Started again
// with local, the instance delivers each accepted message exactly once.
func TestCrashHoldRestart(t *testing.T) {
	need(t, append(core, "pickup", "sendmail", "postdrop", "postfix", "postqueue")...)
	u, _, _ := testenv.User(t)
	e := testenv.Start(t, testenv.Options{MainCF: crashMainCF})
	e.SetMasterCF(t, "local")
	e.Reload(t)
	rcpt := u + "@postern.test"
	msg := func(n int) string {
		return fmt.Sprintf("Subject: hold %d\nMessage-Id: <hold-%d@test>\n\nbody %d\n", n, n, n)
	}

	const viaSMTP, viaSendmail = 60, 20
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c, err := smtp.Dial(e.SMTPAddr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for n := w; n < viaSMTP; n += 3 {
				if _, err := testenv.SubmitOn(c, "hold@example.org", []string{rcpt}, msg(n)); err != nil {
					t.Errorf("message %d: %v", n, err)
				}
			}
			c.Quit()
		}(w)
	}
	for n := viaSMTP; n < viaSMTP+viaSendmail; n++ {
		if code, out := sendmailCode(t, e, msg(n), rcpt); code != 0 {
			t.Fatalf("sendmail %d: exit %d: %s", n, code, out)
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Kill while qmgr cycles the held mail between deferred/ and active/, and pickup may
	// still hold some of the sendmail ones.
	e.WaitLog(t, regexpMust(`status=deferred \(mail transport unavailable\)`))
	time.Sleep(1500 * time.Millisecond)
	t.Logf("queue files before kill -9: %s", queueSummary(e))
	e.KillAll(t)
	if n := len(countIDs(e.Mbox(u), "hold")); n != 0 {
		t.Fatalf("%d messages delivered while delivery was held", n)
	}

	e.SetMasterCF(t) // local is back: the release
	e.Restart(t)
	e.Run("postqueue", "-c", e.ConfigDir, "-f")
	total := viaSMTP + viaSendmail
	e.WaitFor(t, 90*time.Second, func() bool { return len(countIDs(e.Mbox(u), "hold")) >= total && e.QueueEmpty() })
	time.Sleep(time.Second) // a duplicate would show up now
	seen := countIDs(e.Mbox(u), "hold")
	for n := 0; n < total; n++ {
		id := fmt.Sprintf("hold-%d", n)
		if seen[id] != 1 {
			t.Errorf("%s delivered %d times, want exactly once", id, seen[id])
		}
	}
	t.Logf("%d messages, each delivered once after kill -9 of every process and a restart", len(seen))
}

// queueSummary counts the queue's files per directory ("active=3 deferred=40 ...").
func queueSummary(e *testenv.Env) string {
	n := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(e.QueueListing()), "\n") {
		if d, _, ok := strings.Cut(line, "/"); ok {
			n[d]++
		}
	}
	var parts []string
	for d, c := range n {
		parts = append(parts, fmt.Sprintf("%s=%d", d, c))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
