package maildir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
)

var nameRE = regexp.MustCompile(`^\d+\.V[0-9a-f]+I[0-9a-f]+M\d+\.`)

func TestDeliver(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home", "u", "Maildir")
	pre := []string{"Return-Path: <s@x>", "Delivered-To: u@x"}
	body := "Subject: hi\n\nFrom me\nno final newline"
	p, err := Deliver(dir, pre, strings.NewReader(body), Options{Hostname: "h/o:st"})
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		st, err := os.Stat(filepath.Join(dir, sub))
		if err != nil || !st.IsDir() || st.Mode().Perm() != 0700 {
			t.Fatalf("%s: %v %v", sub, st, err)
		}
	}
	if filepath.Dir(p) != filepath.Join(dir, "new") {
		t.Fatalf("not in new/: %s", p)
	}
	base := filepath.Base(p)
	if !nameRE.MatchString(base) || !strings.HasSuffix(base, `.h\057o\072st`) {
		t.Fatalf("bad name %q", base)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Return-Path: <s@x>\nDelivered-To: u@x\n" + body; string(b) != want {
		t.Fatalf("got %q want %q", b, want)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0600 {
		t.Errorf("mode %v", st.Mode())
	}
	for _, sub := range []string{"tmp", "cur"} {
		if ents, _ := os.ReadDir(filepath.Join(dir, sub)); len(ents) != 0 {
			t.Errorf("%s/ not empty: %v", sub, ents)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "new")); len(ents) != 1 {
		t.Errorf("new/ has %d entries", len(ents))
	}
}

func TestDeliverParallel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Maildir")
	const n = 1000
	var wg sync.WaitGroup
	names := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			names[i], errs[i] = Deliver(dir, nil, strings.NewReader(fmt.Sprintf("msg %d\n", i)), Options{})
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[names[i]] {
			t.Fatalf("duplicate %s", names[i])
		}
		seen[names[i]] = true
		b, err := os.ReadFile(names[i])
		if err != nil || string(b) != fmt.Sprintf("msg %d\n", i) {
			t.Fatalf("%s: %q %v", names[i], b, err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "new"))
	if len(ents) != n {
		t.Fatalf("new/ has %d files", len(ents))
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Fatalf("tmp/ has %d files", len(ents))
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, syscall.EIO }

func TestDeliverErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Maildir")
	_, err := Deliver(dir, []string{"X: y"}, errReader{}, Options{})
	var me *Error
	if !errors.As(err, &me) || !me.Temporary() || me.Status != "4.3.0" {
		t.Fatalf("err = %v", err)
	}
	for _, sub := range []string{"tmp", "new"} {
		if ents, _ := os.ReadDir(filepath.Join(dir, sub)); len(ents) != 0 {
			t.Errorf("%s/ not empty", sub)
		}
	}

	if os.Geteuid() != 0 {
		ro := filepath.Join(t.TempDir(), "ro")
		os.Mkdir(ro, 0500)
		_, err = Deliver(filepath.Join(ro, "Maildir"), nil, strings.NewReader("x"), Options{})
		if !errors.As(err, &me) || me.Temporary() || me.Status != "5.2.0" ||
			!strings.HasPrefix(me.Text, "create maildir file ") || !strings.HasSuffix(me.Text, ": Permission denied") {
			t.Fatalf("err = %v", err)
		}
	}
}

func BenchmarkDeliver(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "Maildir")
	msg := strings.Repeat("Header: value\n", 20) + "\n" + strings.Repeat("body line of text\n", 200)
	pre := []string{"Return-Path: <s@x>", "Delivered-To: u@x"}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Deliver(dir, pre, strings.NewReader(msg), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
