package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"postern/pkg/testenv"
)

// TestVirtualAliasDomains follows the howto's virtual domain chapter word for word, with two
// test users in place of sigiri and kala: virtual_alias_domains and virtual_alias_maps in
// main.cf, the table built with postmap, postfix reload; then the table is rebuilt while
// mail streams through it.
func TestVirtualAliasDomains(t *testing.T) {
	need(t, append(core, "postconf", "postfix", "postmap")...)
	sigiri, _, _ := testenv.User(t)
	kala, _, _ := testenv.User(t)
	e := testenv.Start(t, testenv.Options{})

	dir := testenv.TempRoot(t, "pvirt-")
	virtual := filepath.Join(dir, "virtual")
	source := func(extra int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "info@fossedu.org %s\ninfo@linuxelabs.com %s\n", sigiri, kala)
		b.WriteString("loop1@linuxelabs.com loop2@linuxelabs.com\nloop2@linuxelabs.com loop1@linuxelabs.com\n")
		for i := range extra {
			fmt.Fprintf(&b, "filler%d@linuxelabs.com %s\n", i, kala)
		}
		return b.String()
	}
	if err := os.WriteFile(virtual, []byte(source(0)), 0644); err != nil {
		t.Fatal(err)
	}
	e.Postconf(t, "-e", "virtual_alias_domains = fossedu.org linuxelabs.com", "virtual_alias_maps = hash:"+virtual)
	if out, err := e.Run("postmap", "-c", e.ConfigDir, virtual); err != nil {
		t.Fatalf("postmap %s: %v\n%s", virtual, err, out)
	}
	e.Reload(t)

	out, err := e.Run("postmap", "-c", e.ConfigDir, "-q", "info@fossedu.org", "hash:"+virtual)
	if err != nil || out != sigiri+"\n" {
		t.Errorf("postmap -q info@fossedu.org: %v, %q; want %q", err, out, sigiri+"\n")
	}
	if out, err := e.Run("postmap", "-c", e.ConfigDir, "-q", "unknown@fossedu.org", "hash:"+virtual); err == nil || out != "" {
		t.Errorf("postmap -q unknown@fossedu.org: %v, %q; want exit 1 and no output", err, out)
	}

	c := e.SMTP(t)
	c.Expect(220)
	c.Cmd("ehlo localhost", 250)
	c.Cmd("mail from:<test@yourdomain.com>", 250)
	if got := c.Cmd("rcpt to:<unknown@fossedu.org>", 550); got != "550 5.1.1 <unknown@fossedu.org>: Recipient address rejected: User unknown in virtual alias table" {
		t.Errorf("unknown@fossedu.org: %q", got)
	}
	c.Cmd("rcpt to:<info@fossedu.org>", 250)
	c.Cmd("rcpt to:<info@linuxelabs.com>", 250)
	c.Cmd("data", 354)
	c.Send("Subject: virtual domains")
	c.Send("")
	c.Send("hello both")
	c.Cmd(".", 250)
	c.Cmd("quit", 221)

	for user, orig := range map[string]string{sigiri: "info@fossedu.org", kala: "info@linuxelabs.com"} {
		var mbox string
		e.WaitFor(t, 30*time.Second, func() bool {
			mbox = e.Mbox(user)
			return strings.Contains(mbox, "hello both")
		})
		for _, want := range []string{"\nX-Original-To: " + orig + "\n", "\nDelivered-To: " + user + "@postern.test\n"} {
			if !strings.Contains(mbox, want) {
				t.Errorf("%s's mailbox lacks %q:\n%s", user, want, mbox)
			}
		}
	}
	if l := e.Log(); !strings.Contains(l, "reject: RCPT from localhost[127.0.0.1]: 550 5.1.1 <unknown@fossedu.org>: Recipient address rejected: User unknown in virtual alias table;") {
		t.Errorf("no reject line in the log:\n%s", l)
	}

	// A virtual alias loop is a temporary failure for the whole message.
	c = e.SMTP(t)
	c.Expect(220)
	c.Cmd("ehlo localhost", 250)
	c.Cmd("mail from:<test@yourdomain.com>", 250)
	c.Cmd("rcpt to:<info@fossedu.org>", 250)
	c.Cmd("rcpt to:<loop1@linuxelabs.com>", 250)
	c.Cmd("data", 354)
	c.Send("Subject: loop")
	c.Send("")
	if got := c.Cmd(".", 451); got != "451 4.6.0 Alias expansion error" {
		t.Errorf("end of data with a virtual alias loop: %q", got)
	}
	c.Cmd("quit", 221)
	e.WaitLog(t, regexpMust(`warning: [0-9A-F]+: unreasonable virtual_alias_maps map nesting for loop1@linuxelabs\.com -- message not accepted, try again later`))

	t.Run("rebuild under load", func(t *testing.T) {
		const n = 1000 // issue 4: "while 1,000 messages stream through"
		stop := make(chan struct{})
		rebuilt := make(chan int)
		go func() { // postmap the table again and again, a little different each time
			i := 0
			defer func() { rebuilt <- i }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i++
				os.WriteFile(virtual, []byte(source(i%50*20)), 0644)
				if out, err := e.Run("postmap", "-c", e.ConfigDir, virtual); err != nil {
					t.Errorf("postmap: %v\n%s", err, out)
					return
				}
			}
		}()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		next := make(chan int)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var cl *smtp.Client
				for k := range next {
					var err error
					if cl == nil {
						if cl, err = smtp.Dial(e.SMTPAddr); err == nil {
							err = cl.Hello("localhost")
						}
					}
					if err == nil {
						_, err = testenv.SubmitOn(cl, "load@yourdomain.com", []string{"info@fossedu.org"},
							fmt.Sprintf("Subject: load %d\n\nmessage %d\n", k, k))
					}
					if err != nil {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("message %d: %v", k, err))
						mu.Unlock()
						if cl != nil {
							cl.Close()
						}
						cl = nil
					}
				}
				if cl != nil {
					cl.Quit()
				}
			}()
		}
		for k := range n {
			next <- k
		}
		close(next)
		wg.Wait()
		close(stop)
		rounds := <-rebuilt
		t.Logf("table rebuilt %d times while %d messages were submitted", rounds, n)
		if rounds < 2 {
			t.Errorf("the table was rebuilt only %d times", rounds)
		}
		if len(failures) > 0 {
			t.Fatalf("%d submissions failed, first: %s", len(failures), failures[0])
		}
		var mbox string
		e.WaitFor(t, 120*time.Second, func() bool {
			mbox = e.Mbox(sigiri)
			return strings.Count(mbox, "\nSubject: load ") >= n
		})
		for k := range n {
			if !strings.Contains(mbox, fmt.Sprintf("\nSubject: load %d\n", k)) {
				t.Errorf("message %d missing from %s's mailbox", k, sigiri)
			}
		}
		if got := strings.Count(mbox, "\nSubject: load "); got != n {
			t.Errorf("%d load messages delivered, want %d", got, n)
		}
		l := e.Log()
		for _, bad := range []string{"lookup problem", "Temporary lookup failure", "lookup error", "status=deferred"} {
			if strings.Contains(l, bad) {
				t.Errorf("log mentions %q", bad)
			}
		}
	})
}
