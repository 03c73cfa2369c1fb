package e2e

import (
	"strings"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// heldMessage queues a message that cannot be delivered (master.cf without local), waits
// for its first deferral and puts it on hold with postsuper -h. It returns the queue ID.
func heldMessage(t *testing.T, e *testenv.Env, from, to, body string) string {
	t.Helper()
	e.SetMasterCF(t, "local")
	e.Reload(t)
	id := e.SendMail(t, from, []string{to}, body)
	e.WaitLog(t, regexpMust(id+`: to=<`+to+`>, .*status=deferred \(mail transport unavailable\)`))
	e.WaitFor(t, 30*time.Second, func() bool {
		out, err := e.Run("postsuper", "-c", e.ConfigDir, "-h", id)
		return err == nil && strings.Contains(out, "postsuper: "+id+": placed on hold")
	})
	return id
}

// section splits postcat's default output into its four sections by their marker lines,
// checking the markers' order and file name.
func sections(t *testing.T, out, name string) (env, content, extracted string) {
	t.Helper()
	var parts []string
	rest := out
	for _, m := range []string{"ENVELOPE RECORDS", "MESSAGE CONTENTS", "HEADER EXTRACTED", "MESSAGE FILE END"} {
		marker := "*** " + m + " " + name + " ***\n"
		i := strings.Index(rest, marker)
		if i < 0 {
			t.Fatalf("no %q in order in:\n%s", marker, out)
		}
		parts = append(parts, rest[:i])
		rest = rest[i+len(marker):]
	}
	if parts[0] != "" || rest != "" {
		t.Fatalf("text outside the sections:\n%s", out)
	}
	return parts[1], parts[2], parts[3]
}

// TestPostcatHeld: a held message shown by postcat -q ID, in Postfix's sections: the
// envelope (sender, recipient, times), the content as cleanup stored it (its Received:
// first, the header, the empty line, the body), nothing extracted; -h, -b, -bh and -e
// select the parts.
func TestPostcatHeld(t *testing.T) {
	need(t, append(core, "postsuper", "postcat")...)
	u, _, _ := testenv.User(t)
	e := testenv.Start(t, testenv.Options{})
	rcpt := u + "@postern.test"
	id := heldMessage(t, e, "alice@example.org", rcpt,
		"Subject: postcat me\nMessage-Id: <pc.1@example.org>\n\nline one\n  line two\n")

	out, err := e.Run("postcat", "-c", e.ConfigDir, "-q", id)
	if err != nil {
		t.Fatalf("postcat: %v\n%s", err, out)
	}
	env, content, extracted := sections(t, out, "hold/"+id)
	envLines := strings.Split(strings.TrimSuffix(env, "\n"), "\n")
	if !strings.HasPrefix(envLines[0], "message_size: ") || !strings.HasPrefix(envLines[1], "message_arrival_time: ") {
		t.Errorf("envelope starts with %q", envLines[:2])
	}
	want := map[string]bool{"sender: alice@example.org": false, "recipient: " + rcpt: false}
	for _, l := range envLines {
		if _, ok := want[l]; ok {
			want[l] = true
		}
		if strings.HasPrefix(l, "create_time: ") && len(l) != len("create_time: Mon Dec  7 19:33:49 2026") {
			t.Errorf("create_time line %q", l)
		}
	}
	for l, seen := range want {
		if !seen {
			t.Errorf("envelope lacks %q:\n%s", l, env)
		}
	}
	header, body, ok := strings.Cut(content, "\n\n")
	if !ok || body != "line one\n  line two\n" {
		t.Fatalf("content is not header, empty line, body:\n%s", content)
	}
	if !strings.HasPrefix(header, "Received: from ") || !strings.Contains(header, "\nSubject: postcat me\n") ||
		!strings.Contains(header, "\nMessage-Id: <pc.1@example.org>") {
		t.Errorf("header:\n%s", header)
	}
	if extracted != "" {
		t.Errorf("extracted records: %q", extracted)
	}

	for _, tc := range []struct{ opt, want string }{
		{"-h", header + "\n"},
		{"-b", "\n" + body},
		{"-bh", content},
	} {
		if got, err := e.Run("postcat", "-c", e.ConfigDir, tc.opt, "-q", id); err != nil || got != tc.want {
			t.Errorf("postcat %s: %v\n%q\nwant\n%q", tc.opt, err, got, tc.want)
		}
	}
	if got, _ := e.Run("postcat", "-c", e.ConfigDir, "-e", "-q", id); got != "*** ENVELOPE RECORDS hold/"+id+" ***\n"+env+
		"*** MESSAGE CONTENTS hold/"+id+" ***\n*** HEADER EXTRACTED hold/"+id+" ***\n*** MESSAGE FILE END hold/"+id+" ***\n" {
		t.Errorf("postcat -e:\n%s", got)
	}
	if got, err := e.Run("postcat", "-c", e.ConfigDir, "-q", "ABCDEF12345"); err == nil || got != "postcat: fatal: open queue file ABCDEF12345: No such file or directory\n" {
		t.Errorf("missing ID: %v %q", err, got)
	}
}

// TestPostsuperExpire: a message deferred because delivery is unavailable is force-expired
// with postsuper -e (mailq marks it "#"); at the next queue run it is not delivered but
// returned to its sender, with the reason of its deferral, and leaves the queue.
func TestPostsuperExpire(t *testing.T) {
	need(t, append(core, "bounce", "postsuper", "postqueue")...)
	sender, _, _ := testenv.User(t)
	rcpt, _, _ := testenv.User(t)
	e := testenv.Start(t, testenv.Options{})
	e.SetMasterCF(t, "local")
	e.Reload(t)
	from, to := sender+"@postern.test", rcpt+"@postern.test"
	id := e.SendMail(t, from, []string{to}, "Subject: expire me\nMessage-Id: <exp.1@postern.test>\n\nnever delivered\n")
	e.WaitLog(t, regexpMust(id+`: to=<`+to+`>, .*status=deferred \(mail transport unavailable\)`))
	e.WaitFor(t, 30*time.Second, func() bool {
		out, _ := e.Run("postqueue", "-c", e.ConfigDir, "-p")
		return strings.Contains(out, "\n"+id+" ") // back in deferred/, not active
	})

	out, err := e.Run("postsuper", "-c", e.ConfigDir, "-e", id)
	if err != nil || out != "postsuper: "+id+": expired\npostsuper: Force-expired: 1 message\n" {
		t.Fatalf("postsuper -e: %v %q", err, out)
	}
	if out, _ := e.Run("postqueue", "-c", e.ConfigDir, "-p"); !strings.Contains(out, "\n"+id+"#") {
		t.Errorf("mailq does not mark the message force-expired:\n%s", out)
	}

	e.SetMasterCF(t) // local is back, so the notice can be delivered
	e.Reload(t)
	if out, err := e.Run("postqueue", "-c", e.ConfigDir, "-f"); err != nil {
		t.Fatalf("postqueue -f: %v %s", err, out)
	}
	e.WaitLog(t, regexpMust(id+`: from=<`+from+`>, status=force-expired, returned to sender`))
	var mbox string
	e.WaitFor(t, 60*time.Second, func() bool {
		mbox = e.Mbox(sender)
		return strings.Contains(mbox, "\nX-Postfix-Queue-ID: "+id+"\n")
	})
	for _, want := range []string{
		"\nSubject: Undelivered Mail Returned to Sender\n",
		"\nFinal-Recipient: rfc822; " + to + "\n",
		"\nAction: failed\n",
		"mail transport unavailable",
		"\nSubject: expire me\n",
	} {
		if !strings.Contains(mbox, want) {
			t.Errorf("notice lacks %q:\n%s", want, mbox)
		}
	}
	e.WaitLog(t, regexpMust(`postfix/qmgr\[\d+\]: `+id+`: removed`))
	if got := e.Mbox(rcpt); got != "" {
		t.Errorf("the expired message was delivered:\n%s", got)
	}
	if strings.Contains(e.Log(), id+": to=<"+to+">, relay=local") {
		t.Error("a delivery was attempted after the expiry")
	}
}
