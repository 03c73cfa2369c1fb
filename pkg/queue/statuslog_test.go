package queue

import (
	"strings"
	"testing"
)

func TestReadLog(t *testing.T) {
	text := "\n<a@example.org>: no such user\nrecipient=a@example.org\noriginal_recipient=A@localhost\n" +
		"offset=123\ndsn_orig_rcpt=rfc822;A@localhost\nnotify_flags=4\nstatus=5.1.1\naction=failed\n" +
		"diag_type=smtp\ndiag_text=550 5.1.1 no\nmta_type=dns\nmta_mname=mx.example.org\nreason=no such user\n\n" +
		"\n<>: x\nrecipient = <>\nstatus = 4.2.0\nreason = busy = yes\n\n" +
		"\nstatus=4.0.0\n\n"
	got, err := ReadLog(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []LogEntry{
		{Recipient: "a@example.org", Original: "A@localhost", Offset: 123, DSNOrig: "rfc822;A@localhost", Notify: 4,
			Status: "5.1.1", Action: "failed", DiagType: "smtp", DiagText: "550 5.1.1 no", MTAType: "dns",
			MTAName: "mx.example.org", Reason: "no such user"},
		{Recipient: "", Status: "4.2.0", Reason: "busy = yes"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
