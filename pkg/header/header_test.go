package header

import (
	"bytes"
	"strings"
	"testing"
)

func TestFieldName(t *testing.T) {
	long := strings.Repeat("x", Lookahead-1)
	cases := []struct {
		line string
		want int
	}{
		{"Subject: hi", 7},
		{"Subjet: My first mail on Postfix", 6},
		{"X-A:", 3},
		{"Subject : obsolete form", 7},
		{"Subject\t: tab", 7},
		{"Are you there?", 0},
		{"From sender@example.org Mon Dec  7 19:33:49 2026", 0},
		{">From: quoted", 5}, // '>' is a name character
		{":no name", 0},
		{" Subject: folded", 0},
		{"Sub ject: two words", 0},
		{"Caf\xc3\xa9: 8-bit name", 0},
		{"Ctl\x01: control", 0},
		{"Del\x7f: delete", 0},
		{"no colon at all", 0},
		{"", 0},
		{long + ":", Lookahead - 1},
		{long + "x:", 0}, // the colon comes past the lookahead
	}
	for _, c := range cases {
		if got := FieldName([]byte(c.line)); got != c.want {
			t.Errorf("FieldName(%.40q) = %d, want %d", c.line, got, c.want)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		line       string
		afterField bool
		want       Kind
	}{
		{"", false, Separator},
		{"", true, Separator},
		{"\r", true, Separator},
		{"Subject: x", false, Field},
		{" folded", true, Continuation},
		{"\tfolded", true, Continuation},
		{"   ", true, Continuation},
		{" folded", false, Body}, // nothing to fold into
		{"Are you there?", true, Body},
		{"From a@b Mon Dec  7 19:33:49 2026", false, Body},
		{"\r\r", true, Body},
	}
	for _, c := range cases {
		if got := Classify([]byte(c.line), c.afterField); got != c.want {
			t.Errorf("Classify(%q, %v) = %d, want %d", c.line, c.afterField, got, c.want)
		}
	}
}

func TestEnd(t *testing.T) {
	long := "X-Long: " + strings.Repeat("v", 100000)
	cases := []struct {
		name      string
		msg       string
		atEOF     bool
		hdr, body int // -1: len(msg)
		ok        bool
	}{
		{"separator", "Subject: x\n\nbody\n", true, 11, 12, true},
		{"crlf separator", "Subject: x\r\n\r\nbody\r\n", true, 12, 14, true},
		{"howto", "Received: by x\nSubjet: My first mail on Postfix\nAre you there?\n", true, 48, 48, true},
		{"continuation", "Subject: a\n b\n\tc\nbody line\n", true, 17, 17, true},
		{"from line first", "From a@b Mon Dec  7 19:33:49 2026\nSubject: x\n\nb\n", true, 0, 0, true},
		{"blank first line", " folded\nSubject: x\n\n", true, 0, 0, true},
		{"empty first line", "\nSubject: x\n", true, 0, 1, true},
		{"body only", "just text\nmore\n", true, 0, 0, true},
		{"all header", "Subject: x\nFrom: a@b\n", true, -1, -1, true},
		{"all header no newline", "Subject: x\nFrom: a@b", true, -1, -1, true},
		{"prefix undecided", "Subject: x\nFrom: a", false, 11, 11, false},
		{"prefix all header", "Subject: x\n", false, 11, 11, false},
		{"prefix decided", "Subject: x\nbody\nFrom: a", false, 11, 11, true},
		{"no colon", "Subject: x\nX-Broken header\nTo: a@b\n\nb\n", true, 11, 11, true},
		{"8-bit name", "Subject: x\nCaf\xc3\xa9: y\n\n", true, 11, 11, true},
		{"8-bit value", "Subject: caf\xc3\xa9\n\nb\n", true, 15, 16, true},
		{"long line", long + "\nbody\n", true, len(long) + 1, len(long) + 1, true},
		{"empty", "", true, 0, 0, true},
		{"empty prefix", "", false, 0, 0, false},
	}
	for _, c := range cases {
		hdr, body, ok := End([]byte(c.msg), c.atEOF)
		wh, wb := c.hdr, c.body
		if wh < 0 {
			wh, wb = len(c.msg), len(c.msg)
		}
		if hdr != wh || body != wb || ok != c.ok {
			t.Errorf("%s: End = %d, %d, %v; want %d, %d, %v", c.name, hdr, body, ok, wh, wb, c.ok)
		}
	}
}

func TestWithSeparator(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Subject: x\n\nbody\n", "Subject: x\n\nbody\n"},
		{"Subjet: x\nAre you there?\n", "Subjet: x\n\nAre you there?\n"},
		{"Subjet: x\r\nAre you there?\r\n", "Subjet: x\r\n\r\nAre you there?\r\n"},
		{"Subject: x\r\n", "Subject: x\r\n\r\n"},
		{"Subject: x", "Subject: x\n\n"},
		{"body only\r\n", "\r\nbody only\r\n"},
		{"body only", "\nbody only"},
		{"", ""},
	}
	for _, c := range cases {
		if got := WithSeparator([]byte(c.in)); string(got) != c.want {
			t.Errorf("WithSeparator(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSplitter(t *testing.T) {
	var s Splitter
	var got []Kind
	for _, l := range []string{"Received: x", " y", "Subjet: z", "Are you there?", "To: not a header now", ""} {
		got = append(got, s.Next([]byte(l)))
	}
	want := []Kind{Field, Continuation, Field, Body, Body, Body}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("kinds %v, want %v", got, want)
		}
	}
	if !s.Done() {
		t.Error("not done")
	}
}

// FuzzEnd checks End's invariants on any input: the header is a run of fields and their
// continuations, the separator is one empty line, a prefix agrees with the whole message
// whenever it says it has decided, and WithSeparator only ever inserts an empty line.
func FuzzEnd(f *testing.F) {
	for _, s := range []string{
		"Subject: x\n\nbody\n",
		"Received: by x\nSubjet: My first mail on Postfix\nAre you there?\n",
		"From a@b date\nSubject: x\n",
		" x\n",
		"A: b\r\n c\r\n\r\nd",
		"A : b\nB\xff: c\n",
		"",
	} {
		f.Add([]byte(s), 3)
	}
	f.Fuzz(func(t *testing.T, msg []byte, cut int) {
		hdr, body, ok := End(msg, true)
		if !ok || hdr < 0 || hdr > body || body > len(msg) {
			t.Fatalf("End = %d, %d, %v for %d bytes", hdr, body, ok, len(msg))
		}
		if sep := string(msg[hdr:body]); sep != "" && sep != "\n" && sep != "\r\n" && sep != "\r" {
			t.Fatalf("separator %q", sep)
		}
		var s Splitter
		for i, l := range bytes.SplitAfter(msg[:hdr], []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			k := s.Next(bytes.TrimSuffix(l, []byte("\n")))
			if k != Field && k != Continuation || i == 0 && k != Field {
				t.Fatalf("header line %d %q is %d", i, l, k)
			}
		}
		if cut >= 0 && cut <= len(msg) {
			ph, pb, pok := End(msg[:cut], false)
			if pok && (ph != hdr || pb != body) {
				t.Fatalf("prefix %d: %d, %d; whole: %d, %d", cut, ph, pb, hdr, body)
			}
		}
		w := WithSeparator(msg)
		wh, wb, _ := End(w, true)
		if len(msg) > 0 && wb == wh {
			t.Fatalf("no separator in %q", w)
		}
		if !bytes.Equal(w[:hdr], msg[:hdr]) || !bytes.Equal(w[wb:], msg[body:]) || len(w)-len(msg) > 4 {
			t.Fatalf("WithSeparator(%q) = %q", msg, w)
		}
	})
}
