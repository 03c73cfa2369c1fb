package queue

import (
	"errors"
	"testing"
)

type rec struct {
	typ  byte
	data string
}

func runCheck(c *MaildropCheck, rs []rec) (skipped int, err error) {
	for _, r := range rs {
		skip, err := c.Check(r.typ, []byte(r.data))
		if err != nil {
			return skipped, err
		}
		if skip {
			skipped++
		}
	}
	return skipped, c.Finish()
}

func TestMaildropCheck(t *testing.T) {
	good := []rec{{RecTime, "1 2"}, {RecAttr, "rewrite_context=local"}, {RecFullName, "Joe"}, {RecSender, "joe"},
		{RecAttr, "notify_flags=8"}, {RecRcpt, "a"}, {RecMesg, ""}, {RecNorm, "Subject: x"}, {RecCont, "abc"}, {RecNorm, "def"},
		{RecXtra, ""}, {RecRcpt, "b"}, {RecEnd, ""}}
	c := &MaildropCheck{Time: true}
	if n, err := runCheck(c, good); err != nil || n != 0 {
		t.Fatalf("good stream: skipped %d, %v", n, err)
	}
	if _, err := runCheck(&MaildropCheck{}, good); !errors.Is(err, ErrMaildrop) {
		t.Fatalf("T accepted without Time: %v", err)
	}

	cases := []struct {
		name string
		rs   []rec
		skip int
		ok   bool
	}{
		{"ignored attr", []rec{{RecAttr, "client_address=1.2.3.4"}, {RecSender, ""}, {RecRcpt, "a"}, {RecMesg, ""}, {RecXtra, ""}, {RecEnd, ""}}, 1, true},
		{"bad notify", []rec{{RecAttr, "notify_flags=x"}, {RecSender, ""}, {RecRcpt, "a"}, {RecMesg, ""}, {RecXtra, ""}, {RecEnd, ""}}, 1, true},
		{"extracted only", []rec{{RecSender, "u"}, {RecMesg, ""}, {RecXtra, ""}, {RecRcpt, "a"}, {RecEnd, ""}}, 0, true},
		{"no sender", []rec{{RecRcpt, "a"}, {RecMesg, ""}, {RecXtra, ""}, {RecEnd, ""}}, 0, false},
		{"no rcpt", []rec{{RecSender, "a"}, {RecMesg, ""}, {RecXtra, ""}, {RecEnd, ""}}, 0, false},
		{"two senders", []rec{{RecSender, "a"}, {RecSender, "b"}}, 0, false},
		{"no end", []rec{{RecSender, "a"}, {RecRcpt, "a"}, {RecMesg, ""}, {RecXtra, ""}}, 0, false},
		{"after end", []rec{{RecSender, "a"}, {RecRcpt, "a"}, {RecMesg, ""}, {RecXtra, ""}, {RecEnd, ""}, {RecNorm, ""}}, 0, false},
		{"content in envelope", []rec{{RecSender, "a"}, {RecNorm, "x"}}, 0, false},
		{"recipient in content", []rec{{RecSender, "a"}, {RecMesg, ""}, {RecRcpt, "x"}}, 0, false},
		{"queue-only record", []rec{{RecSize, "0"}}, 0, false},
		{"malformed attr", []rec{{RecAttr, "novalue"}}, 0, false},
	}
	for _, tc := range cases {
		n, err := runCheck(&MaildropCheck{Time: true}, tc.rs)
		if (err == nil) != tc.ok || n != tc.skip {
			t.Errorf("%s: skipped %d, err %v; want skip %d ok %v", tc.name, n, err, tc.skip, tc.ok)
		}
	}
}

func TestMaildropAttr(t *testing.T) {
	for _, tc := range []struct {
		n, v string
		ok   bool
	}{
		{"rewrite_context", "local", true}, {"rewrite_context", "x", false},
		{"encoding", "8bit", true}, {"encoding", "binary", false},
		{"ret_flags", "2", true}, {"trace_flags", "1024", true}, {"notify_flags", "", false},
		{"envelope_id", "abc", true}, {"log_client_name", "x", false},
	} {
		if MaildropAttr(tc.n, tc.v) != tc.ok {
			t.Errorf("MaildropAttr(%q, %q) != %v", tc.n, tc.v, tc.ok)
		}
	}
}
