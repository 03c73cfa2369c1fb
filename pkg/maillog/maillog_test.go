package maillog

import (
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
