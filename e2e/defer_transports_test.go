package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// TestQueueDeferTransports: with defer_transports = local, mail to a local user waits in the
// deferred queue with Postfix's "deferred transport" (listed so by mailq) through several
// queue runs, and is delivered by postqueue -f, sendmail -q and postfix flush, one message
// each.
func TestQueueDeferTransports(t *testing.T) {
	need(t, append(core, "postqueue", "sendmail", "postfix")...)
	name, _, _ := testenv.User(t)
	e := testenv.Start(t, testenv.Options{MainCF: "defer_transports = local\nqueue_run_delay = 1s\n" +
		"minimal_backoff_time = 1s\nmaximal_backoff_time = 1s\n"})
	mailq := func() string {
		t.Helper()
		out, err := e.Run("postqueue", "-c", e.ConfigDir, "-p")
		if err != nil {
			t.Fatalf("postqueue -p: %v\n%s", err, out)
		}
		return out
	}
	flushes := []struct {
		what string
		run  func() (string, error)
	}{
		{"postqueue -f", func() (string, error) { return e.Run("postqueue", "-c", e.ConfigDir, "-f") }},
		{"sendmail -q", func() (string, error) { return e.Run("sendmail", "-q") }},
		{"postfix flush", func() (string, error) { return e.Run("postfix", "-c", e.ConfigDir, "flush") }},
	}
	for _, f := range flushes {
		subject := "held back until " + f.what
		id := e.SendMail(t, "alice@example.org", []string{name + "@postern.test"}, "Subject: "+subject+"\n\nhello\n")
		deferred := regexp.MustCompile(`postfix/\w+\[\d+\]: ` + id + `: to=<` + name + `@postern\.test>, relay=none, delay=[0-9.]+, delays=[0-9./]+, dsn=4\.3\.2, status=deferred \(deferred transport\)\n`)
		e.WaitLog(t, deferred)
		var out string
		e.WaitFor(t, 10*time.Second, func() bool { out = mailq(); return strings.Contains(out, id+" ") })
		row := regexp.MustCompile(`(?m)^` + id + ` +\d+ [A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d  alice@example\.org\n +\(deferred transport\)\n {41}` + name + `@postern\.test\n\n-- \d+ Kbytes in 1 Request\.\n$`)
		if !row.MatchString(out) {
			t.Fatalf("%s: mailq of a message for a deferred transport:\n%s", f.what, out)
		}
		// Queue runs come every second; each defers it again and none delivers it.
		e.WaitFor(t, 20*time.Second, func() bool { return len(deferred.FindAllString(e.Log(), -1)) >= 3 })
		if strings.Contains(e.Mbox(name), subject) {
			t.Fatalf("%s: delivered by a queue run", f.what)
		}
		if out, err := f.run(); err != nil || out != "" {
			t.Fatalf("%s: %v %q", f.what, err, out)
		}
		e.WaitFor(t, 20*time.Second, func() bool { return strings.Contains(e.Mbox(name), "Subject: "+subject+"\n") })
		e.WaitLog(t, regexp.MustCompile(`postfix/local\[\d+\]: `+id+`: to=<`+name+`@postern\.test>, relay=local, .*status=sent \(delivered to mailbox\)`))
		e.WaitLog(t, regexp.MustCompile(`postfix/qmgr\[\d+\]: `+id+`: removed`))
		if out := mailq(); out != "Mail queue is empty\n" {
			t.Fatalf("%s: mailq after the flush:\n%s", f.what, out)
		}
	}
}
