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
	good := []rec{{'T', "1 2"}, {'A', "rewrite_context=local"}, {'F', "Joe"}, {'S', "joe"},
		{'A', "notify_flags=8"}, {'R', "a"}, {'M', ""}, {'N', "Subject: x"}, {'L', "abc"}, {'N', "def"},
		{'X', ""}, {'R', "b"}, {'E', ""}}
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
		{"ignored attr", []rec{{'A', "client_address=1.2.3.4"}, {'S', ""}, {'R', "a"}, {'M', ""}, {'X', ""}, {'E', ""}}, 1, true},
		{"bad notify", []rec{{'A', "notify_flags=x"}, {'S', ""}, {'R', "a"}, {'M', ""}, {'X', ""}, {'E', ""}}, 1, true},
		{"extracted only", []rec{{'S', "u"}, {'M', ""}, {'X', ""}, {'R', "a"}, {'E', ""}}, 0, true},
		{"no sender", []rec{{'R', "a"}, {'M', ""}, {'X', ""}, {'E', ""}}, 0, false},
		{"no rcpt", []rec{{'S', "a"}, {'M', ""}, {'X', ""}, {'E', ""}}, 0, false},
		{"two senders", []rec{{'S', "a"}, {'S', "b"}}, 0, false},
		{"no end", []rec{{'S', "a"}, {'R', "a"}, {'M', ""}, {'X', ""}}, 0, false},
		{"after end", []rec{{'S', "a"}, {'R', "a"}, {'M', ""}, {'X', ""}, {'E', ""}, {'N', ""}}, 0, false},
		{"content in envelope", []rec{{'S', "a"}, {'N', "x"}}, 0, false},
		{"recipient in content", []rec{{'S', "a"}, {'M', ""}, {'R', "x"}}, 0, false},
		{"queue-only record", []rec{{'C', "0"}}, 0, false},
		{"malformed attr", []rec{{'A', "novalue"}}, 0, false},
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
