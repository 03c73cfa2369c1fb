package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postern/pkg/queue"
	"postern/pkg/queue/queuetest"
)

// setup makes a configuration directory and a queue with one message, moved to queue qn;
// it returns the -c directory, the queue and the message's ID.
func setup(t *testing.T, qn string, lines ...string) (string, *queue.Queue, string) {
	t.Helper()
	root := t.TempDir()
	q := queue.New(filepath.Join(root, "spool"))
	if err := q.Init(-1, -1); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(root, "etc")
	os.Mkdir(conf, 0755)
	if err := os.WriteFile(filepath.Join(conf, "main.cf"), []byte("queue_directory = "+q.Dir+"\n"), 0644); err != nil {
		t.Fatal(err)
	}
	id, _ := queuetest.Active(t, q, "alice@example.org", "Bob@Example.org", "bob@example.org", lines...)
	if qn != queue.Active {
		if err := q.Move(id, queue.Active, qn); err != nil {
			t.Fatal(err)
		}
	}
	return conf, q, id
}

func pcat(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var o, e bytes.Buffer
	st := run(args, strings.NewReader(stdin), &o, &e)
	return o.String(), e.String(), st
}

var message = []string{"Received: by x", "\tid 1; Mon", "Subject: hi", "", "Body: not a header", "last"}

func TestQueueSearch(t *testing.T) {
	t.Setenv("TZ", "UTC")
	for _, qn := range []string{queue.Hold, queue.Deferred, queue.Incoming, queue.Maildrop} {
		conf, q, id := setup(t, qn, message...)
		out, errOut, st := pcat(t, "", "-c", conf, "-q", id)
		if st != 0 || errOut != "" {
			t.Fatalf("%s: status %d stderr %q", qn, st, errOut)
		}
		rel, _ := filepath.Rel(q.Dir, q.Path(qn, id))
		env, err := queue.ReadEnvelope(q.Path(qn, id))
		if err != nil {
			t.Fatal(err)
		}
		want := "*** ENVELOPE RECORDS " + rel + " ***\n" +
			"message_size: " + string(queue.SizeData(env.ContentSize, env.DataOffset, 1, 0, env.MessageSize, 0)) + "\n" +
			"message_arrival_time: Tue Nov 14 22:13:20 2023\n" +
			"sender: alice@example.org\n" +
			"original_recipient: Bob@Example.org\n" +
			"recipient: bob@example.org\n" +
			"*** MESSAGE CONTENTS " + rel + " ***\n" +
			"Received: by x\n\tid 1; Mon\nSubject: hi\n\nBody: not a header\nlast\n" +
			"*** HEADER EXTRACTED " + rel + " ***\n" +
			"*** MESSAGE FILE END " + rel + " ***\n"
		if out != want {
			t.Errorf("%s:\n%s\nwant:\n%s", qn, out, want)
		}
		if qn == queue.Deferred && !strings.HasPrefix(rel, "deferred/"+id[:1]+"/") {
			t.Errorf("deferred name %q", rel)
		}
	}
}

func TestSections(t *testing.T) {
	conf, _, id := setup(t, queue.Hold, message...)
	for _, tc := range []struct {
		opts, want string
	}{
		{"-h", "Received: by x\n\tid 1; Mon\nSubject: hi\n"},
		{"-b", "\nBody: not a header\nlast\n"},
		{"-bh", "Received: by x\n\tid 1; Mon\nSubject: hi\n\nBody: not a header\nlast\n"},
		{"-hb", "Received: by x\n\tid 1; Mon\nSubject: hi\n\nBody: not a header\nlast\n"},
	} {
		out, errOut, st := pcat(t, "", "-c", conf, tc.opts, "-q", id)
		if st != 0 || errOut != "" || out != tc.want {
			t.Errorf("%s: status %d stderr %q\n%q\nwant\n%q", tc.opts, st, errOut, out, tc.want)
		}
	}
	out, _, _ := pcat(t, "", "-c", conf, "-e", "-q", id)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 9 || !strings.HasPrefix(lines[6], "*** MESSAGE CONTENTS hold/") || !strings.HasPrefix(lines[7], "*** HEADER EXTRACTED hold/") {
		t.Errorf("-e:\n%s", out)
	}
}

// TestLongLineAndOffsets: a line longer than line_length_limit is stored as L pieces; postcat
// joins them, and -o prints each record's offset (pieces then on lines of their own).
func TestLongLineAndOffsets(t *testing.T) {
	long := strings.Repeat("x", 5000)
	conf, q, id := setup(t, queue.Hold, "Subject: long", "", long, "end")
	out, _, _ := pcat(t, "", "-c", conf, "-b", "-q", id)
	if out != "\n"+long+"\nend\n" {
		t.Errorf("-b: %d bytes", len(out))
	}
	out, _, _ = pcat(t, "", "-c", conf, "-o", "-q", id)
	env, _ := queue.ReadEnvelope(q.Path(queue.Hold, id))
	first := "*** ENVELOPE RECORDS hold/" + id + " ***\n        0 message_size: "
	if !strings.HasPrefix(out, first) {
		t.Errorf("-o:\n%.300s", out)
	}
	// The first content record starts at DataOffset.
	if want := fmt.Sprintf("\n%9d Subject: long\n", env.DataOffset); !strings.Contains(out, want) {
		t.Errorf("-o: no %q in\n%s", want, out)
	}
	if n := strings.Count(out, strings.Repeat("x", 2048)+"\n"); n != 2 {
		t.Errorf("-o: %d whole 2048-byte pieces on their own lines", n)
	}
}

func TestErrors(t *testing.T) {
	conf, q, id := setup(t, queue.Hold, message...)
	if _, e, st := pcat(t, "", "-c", conf, "-q", "ABCDEF123"); st != 1 || e != "postcat: fatal: open queue file ABCDEF123: No such file or directory\n" {
		t.Errorf("missing: %d %q", st, e)
	}
	if _, e, st := pcat(t, "", "-c", conf, "-q", "../etc"); st != 1 || e != "postcat: fatal: bad mail queue ID: ../etc\n" {
		t.Errorf("bad id: %d %q", st, e)
	}
	if _, e, st := pcat(t, "", "-c", conf, "/nonexistent/x"); st != 1 || e != "postcat: fatal: open /nonexistent/x: No such file or directory\n" {
		t.Errorf("missing file: %d %q", st, e)
	}
	if _, e, st := pcat(t, "", "-c", conf, "-Z"); st != 1 || !strings.HasPrefix(e, "postcat: fatal: usage: postcat [-b (body text)]") {
		t.Errorf("usage: %d %q", st, e)
	}
	// Not a queue file: a warning, exit 0.
	if out, e, st := pcat(t, "hello\n", "-c", conf); st != 0 || out != "" || e != "postcat: warning: stdin: input is not a valid queue file\n" {
		t.Errorf("stdin text: %d %q %q", st, out, e)
	}
	// A truncated file.
	data, _ := os.ReadFile(q.Path(queue.Hold, id))
	if out, e, st := pcat(t, string(data[:len(data)/2+3]), "-c", conf, "-e"); st != 1 || e != "postcat: fatal: record read error\n" || !strings.HasPrefix(out, "*** ENVELOPE RECORDS stdin ***\n") {
		t.Errorf("truncated: %d %q %q", st, out, e)
	}
	// A named file is read as given.
	path := q.Path(queue.Hold, id)
	if out, _, st := pcat(t, "", "-c", conf, "-h", path); st != 0 || out != "Received: by x\n\tid 1; Mon\nSubject: hi\n" {
		t.Errorf("file: %d %q", st, out)
	}
}
