package maillog

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFileLinesShapeAndNoInterleave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "maillog")
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		l := New("smtpd", Options{MaillogFile: path, Hostname: "mail.example.org"})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				l.Info("ABC123: client=unknown[127.0.0.1]\nsplit")
			}
		}()
	}
	wg.Wait()
	l := New("qmgr", Options{MaillogFile: path, SyslogName: "postfix/submission", Hostname: "mail"})
	l.Warn("disk %s", "full")
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 801 {
		t.Fatalf("got %d lines", len(lines))
	}
	re := regexp.MustCompile(`^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d mail postfix/smtpd\[\d+\]: ABC123: client=unknown\[127\.0\.0\.1\] split$`)
	for _, ln := range lines[:800] {
		if !re.MatchString(ln) {
			t.Fatalf("bad line %q", ln)
		}
	}
	if !strings.HasSuffix(lines[800], "mail postfix/submission/qmgr["+strconv.Itoa(os.Getpid())+"]: warning: disk full") {
		t.Fatalf("bad warning line %q", lines[800])
	}
}

func TestFormatDelay(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{time.Millisecond, "0"}, {50 * time.Millisecond, "0.05"}, {100 * time.Millisecond, "0.1"},
		{123 * time.Millisecond, "0.12"}, {1200 * time.Millisecond, "1.2"}, {3 * time.Second, "3"},
		{12400 * time.Millisecond, "12"}, {345 * time.Second, "345"}, {7 * time.Millisecond, "0.01"},
	} {
		if got := FormatDelay(c.d); got != c.want {
			t.Errorf("FormatDelay(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestPostlogClient: a process that cannot open maillog_file sends each line as one datagram
// in the file's shape to the postlog socket, text cut to MaxText; without the socket it
// logs to standard error.
func TestPostlogClient(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "postlog")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	// A maillog_file in a missing directory cannot be opened, even by root.
	o := Options{MaillogFile: filepath.Join(dir, "missing", "maillog"), Hostname: "mail.example.org", PostlogSocket: sock}
	l := New("postdrop", o)
	if l.ToStderr() {
		t.Fatal("logs to stderr although postlog is there")
	}
	l.Warn("unable to look up public/pickup: No such file or directory")
	l.Info("%s", "a\nb"+strings.Repeat("z", 3000))
	l.Close()
	buf := make([]byte, 8192)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d mail postfix/postdrop\[` + strconv.Itoa(os.Getpid()) +
		`\]: warning: unable to look up public/pickup: No such file or directory$`)
	if !re.Match(buf[:n]) {
		t.Fatalf("datagram %q", buf[:n])
	}
	n, _, err = pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, text, _ := strings.Cut(string(buf[:n]), "]: "); text != "a b"+strings.Repeat("z", MaxText-3) {
		t.Fatalf("long line sent as %d bytes: %q...", n, buf[:60])
	}

	o.PostlogSocket = filepath.Join(dir, "nosuch")
	if l := New("postdrop", o); !l.ToStderr() {
		t.Fatal("no postlog socket: not logging to stderr")
	}
}

// TestAppend: postlogd's records become exactly one line each in maillog_file, cut to
// MaxRecord, whatever bytes they hold.
func TestAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "maillog")
	l := New("postlogd", Options{MaillogFile: path})
	for _, rec := range []string{"Dec 07 10:00:00 h postfix/x[1]: a\nforged: line\r\x00end\n", strings.Repeat("q", 3*MaxRecord), ""} {
		if err := l.Append([]byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(path)
	want := "Dec 07 10:00:00 h postfix/x[1]: a forged: line  end\n" + strings.Repeat("q", MaxRecord) + "\n"
	if string(data) != want {
		t.Fatalf("maillog_file:\n%q\nwant\n%q", data, want)
	}
}

func TestCheckFile(t *testing.T) {
	for _, c := range []struct {
		file, prefixes string
		ok             bool
	}{
		{"", "/var", true},
		{"/var/log/mail.log", "/var, /dev/stdout", true},
		{"/dev/stdout", "/var, /dev/stdout", true},
		{"/tmp/maillog", "/var, /dev/stdout", false},
		{"/tmp/maillog", "/var /tmp", true},
		{"/etc/passwd", "", false},
	} {
		if err := CheckFile(c.file, c.prefixes); (err == nil) != c.ok {
			t.Errorf("CheckFile(%q, %q) = %v, want ok=%v", c.file, c.prefixes, err, c.ok)
		}
	}
}
