package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"postern/pkg/passwd"
	"postern/pkg/queue"
)

// The submission tests run the real sendmail and postdrop binaries against a temporary queue.

var binDir string

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "smbin")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(dir)
		cmd := exec.Command("go", "build", "-o", dir+"/", "postern/sendmail", "postern/postdrop")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			os.Stderr.Write(out)
			return 1
		}
		binDir = dir
		return m.Run()
	}()
	os.Exit(code)
}

type instance struct {
	t      *testing.T
	config string
	queue  *queue.Queue
}

func newInstance(t *testing.T, mainCF string) *instance {
	dir := t.TempDir()
	q := queue.New(filepath.Join(dir, "queue"))
	if err := q.Init(-1, -1); err != nil {
		t.Fatal(err)
	}
	cf := "queue_directory = " + q.Dir + "\nmaillog_file = " + filepath.Join(dir, "log") + "\n" + mainCF
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(cf), 0644); err != nil {
		t.Fatal(err)
	}
	return &instance{t, dir, q}
}

// run runs sendmail with input and returns its exit status and standard error.
func (in *instance) run(input string, args ...string) (int, string) {
	cmd := exec.Command(filepath.Join(binDir, "sendmail"), append([]string{"-C", in.config}, args...)...)
	cmd.Stdin = strings.NewReader(input)
	cmd.Env = append(os.Environ(), "NAME=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stderr.String()
	}
	if err != nil {
		in.t.Fatal(err)
	}
	return 0, stderr.String()
}

// drops returns the maildrop files' records, as "T data" strings.
func (in *instance) drops() [][]string {
	ents, _ := os.ReadDir(filepath.Join(in.queue.Dir, "maildrop"))
	var out [][]string
	for _, e := range ents {
		p := filepath.Join(in.queue.Dir, "maildrop", e.Name())
		fi, _ := os.Stat(p)
		if fi.Mode().Perm() != 0744 {
			in.t.Errorf("%s: mode %v, want 0744", e.Name(), fi.Mode().Perm())
		}
		f, err := os.Open(p)
		if err != nil {
			in.t.Fatal(err)
		}
		rr := queue.NewRecordReader(f, 0)
		var recs []string
		for {
			typ, data, _, err := rr.Next()
			if err != nil {
				break
			}
			recs = append(recs, string(typ)+" "+string(data))
		}
		f.Close()
		if len(recs) > 0 && recs[0][0] == 'T' {
			recs = recs[1:] // postdrop's time stamp
		}
		out = append(out, recs)
	}
	return out
}

func (in *instance) one() []string {
	d := in.drops()
	if len(d) != 1 {
		in.t.Fatalf("%d maildrop files, want 1", len(d))
	}
	return d[0]
}

func check(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSubmitExtract(t *testing.T) {
	in := newInstance(t, "")
	msg := "From someone Mon Jan  1 00:00:00 2024\nTo: a, \"B\" <b@x>\nCc: c (comment)\nBcc: d\nSubject: s\r\n\r\nbody\r\n.\nafter\n"
	code, stderr := in.run(msg, "-t", "-f", "Sender <s@y>", "-F", "Full Name", "-N", "failure", "extra")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	check(t, in.one(), "A rewrite_context=local", "F Full Name", "S s@y",
		"A notify_flags=4", "R extra", "M ",
		"N To: a, \"B\" <b@x>", "N Cc: c (comment)", "N Bcc: d", "N Subject: s", "N ", "N body",
		"X ", "A notify_flags=4", "R a", "A notify_flags=4", "R b@x", "A notify_flags=4", "R c",
		"A notify_flags=4", "R d", "E ")
}

func TestSubmitDotsAndLines(t *testing.T) {
	in := newInstance(t, "")
	long := strings.Repeat("x", 2048+10)
	if code, stderr := in.run("a\n.\nb\n"+long+"\nlast", "-i", "-f", "", "-F", "", "u1, u2"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	check(t, in.one(), "A rewrite_context=local", "S ", "R u1", "R u2", "M ", "N a", "N .", "N b",
		"L "+long[:2048], "N xxxxxxxxxx", "N last", "X ", "E ")
}

func TestSubmitDefaultSender(t *testing.T) {
	u, err := passwd.LookupUID(os.Getuid())
	if err != nil {
		t.Skip("no passwd entry for this uid")
	}
	in := newInstance(t, "")
	if code, stderr := in.run("hi\n", "-G", "-v", "-B", "8BITMIME", "-R", "full", "-V", "id1", "u"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := []string{"A rewrite_context=remote", "A encoding=8bit", "A envelope_id=id1", "A ret_flags=1",
		"A trace_flags=1024"}
	if n := u.FullName(); n != "" {
		want = append(want, "F "+n)
	}
	want = append(want, "S "+u.Name, "R u", "M ", "N hi", "X ", "E ")
	check(t, in.one(), want...)
}

func TestSubmitFailures(t *testing.T) {
	in := newInstance(t, "message_size_limit = 100\n")
	uid := strconv.Itoa(os.Getuid())
	for _, tc := range []struct {
		name, input string
		args        []string
		code        int
		stderr      string
	}{
		{"no recipients", "x\n", []string{"-f", "s"}, 64,
			"sendmail: fatal: s(" + uid + "): Recipient addresses must be specified on the command line or via the -t option\n"},
		{"none in header", "Subject: x\n\nbody\n", []string{"-t", "-f", "s"}, 64,
			"sendmail: fatal: s(" + uid + "): No recipient addresses found in message header\n"},
		{"too big", strings.Repeat("line\n", 30), []string{"-f", "s", "u"}, 69,
			"sendmail: fatal: s(" + uid + "): message file too big\n"},
		{"bad option", "", []string{"-z"}, 64, "sendmail: invalid option -- 'z'\nsendmail: fatal: usage: sendmail [options]\n"},
		{"-n", "", []string{"-n", "u"}, 64, "sendmail: fatal: -n option not supported\n"},
	} {
		code, stderr := in.run(tc.input, tc.args...)
		if code != tc.code || stderr != tc.stderr {
			t.Errorf("%s: exit %d, stderr %q; want %d, %q", tc.name, code, stderr, tc.code, tc.stderr)
		}
	}
	if d := in.drops(); len(d) != 0 {
		t.Errorf("failed submissions left %d maildrop files", len(d))
	}
	ents, _ := os.ReadDir(filepath.Join(in.queue.Dir, "maildrop"))
	if len(ents) != 0 {
		t.Errorf("maildrop not empty: %v", ents)
	}
}

func TestSubmitQueueUnwritable(t *testing.T) {
	in := newInstance(t, "")
	os.RemoveAll(filepath.Join(in.queue.Dir, "maildrop"))
	code, stderr := in.run("x\n", "-f", "s", "u")
	if code != 75 || !strings.Contains(stderr, "postdrop: fatal: ") ||
		!strings.HasSuffix(stderr, "sendmail: fatal: s("+strconv.Itoa(os.Getuid())+"): queue file write error\n") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestPostdropRejects(t *testing.T) {
	in := newInstance(t, "")
	var b []byte
	b = queue.AppendRecord(b, 'A', []byte("client_address=1.2.3.4"))
	b = queue.AppendRecord(b, 'S', []byte("s"))
	b = queue.AppendRecord(b, 'R', []byte("r"))
	b = queue.AppendRecord(b, 'M', nil)
	b = queue.AppendRecord(b, 'X', nil)
	good := queue.AppendRecord(append([]byte{}, b...), 'E', nil)
	bad := queue.AppendRecord(append([]byte{}, b...), 'C', []byte("0"))
	postdrop := func(input []byte) (int, string) {
		cmd := exec.Command(filepath.Join(binDir, "postdrop"), "-c", in.config)
		cmd.Stdin = bytes.NewReader(input)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), stderr.String()
		}
		return 0, stderr.String()
	}
	uid := strconv.Itoa(os.Getuid())
	if code, stderr := postdrop(bad); code != 65 || stderr != "postdrop: warning: uid="+uid+": ignoring attribute record: client_address\npostdrop: fatal: uid="+uid+": maildrop: unexpected record type: C\n" {
		t.Errorf("bad stream: exit %d, %q", code, stderr)
	}
	if code, _ := postdrop(b); code != 0 { // canceled: EOF before E
		t.Errorf("canceled stream: exit %d", code)
	}
	if d := in.drops(); len(d) != 0 {
		t.Fatalf("rejected streams left files: %q", d)
	}
	code, stderr := postdrop(good)
	if code != 0 || !strings.Contains(stderr, "unable to look up public/pickup: No such file or directory") {
		t.Errorf("good stream: exit %d, %q", code, stderr)
	}
	check(t, in.one(), "S s", "R r", "M ", "X ", "E ")
}

// runOut runs sendmail with input and returns its exit status, standard output and
// standard error.
func (in *instance) runOut(input string, args ...string) (int, string, string) {
	cmd := exec.Command(filepath.Join(binDir, "sendmail"), append([]string{"-C", in.config}, args...)...)
	cmd.Stdin = strings.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	if err != nil {
		in.t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

// hasDrop tells whether maildrop holds the file name.
func (in *instance) hasDrop(name string) bool {
	_, err := os.Stat(filepath.Join(in.queue.Dir, "maildrop", name))
	return err == nil
}
