package deliver

import (
	"bufio"
	"strings"
	"testing"

	"postern/pkg/ipc"
	"postern/pkg/queue"
)

// FuzzParse feeds Parse arbitrary attribute lists: it must not panic, a request it accepts
// must satisfy the contract, and what it accepts must survive Attrs and Parse again.
func FuzzParse(f *testing.F) {
	var b strings.Builder
	ipc.Write(&b, sample().Attrs())
	f.Add(b.String())
	f.Add("queue_name=active\nqueue_id=A1\ncontent_offset=9\nrecipient=x\nrecipient=y\norig_recipient=z\n\n")
	f.Add("queue_name=active\nqueue_id=../x\ncontent_offset=1\nrecipient=x\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		a, err := ipc.Read(bufio.NewReader(strings.NewReader(in)))
		if err != nil {
			return
		}
		r, err := Parse(a)
		if err != nil {
			return
		}
		if r.QueueName != queue.Active || !queue.ValidID(r.QueueID) || r.Offset <= 0 ||
			len(r.Rcpts) == 0 || len(r.Rcpts) > MaxRcpts {
			t.Fatalf("accepted %+v", r)
		}
		for _, rc := range r.Rcpts {
			if rc.Addr == "" {
				t.Fatalf("accepted an empty recipient: %+v", r)
			}
		}
		r2, err := Parse(r.Attrs())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		r3, err := Parse(r2.Attrs())
		if err != nil || !equal(r2, r3) {
			t.Fatalf("not stable:\n%+v\n%+v (%v)", r2, r3, err)
		}
	})
}
