package ipc

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := Attrs{{"queue_id", "ABC"}, {"reason", "line1\nline2\r100%"}, {"empty", ""}, {"eq", "a=b"}}
	var buf bytes.Buffer
	if err := Write(&buf, in); err != nil {
		t.Fatal(err)
	}
	if strings.Count(buf.String(), "\n") != len(in)+1 {
		t.Fatalf("encoded value broke lines: %q", buf.String())
	}
	r := bufio.NewReader(&buf)
	out, err := Read(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("got %v", out)
	}
	for i := range in {
		if in[i] != out[i] {
			t.Errorf("attr %d: got %q want %q", i, out[i], in[i])
		}
	}
	if _, err := Read(r); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestMalformed(t *testing.T) {
	for _, s := range []string{"noequals\n\n", "=v\n\n", "bad name=v\n\n", "a=b\n", "a=b"} {
		if _, err := Read(bufio.NewReader(strings.NewReader(s))); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	huge := strings.Repeat("a=b\n", MaxAttrs+1) + "\n"
	if _, err := Read(bufio.NewReaderSize(strings.NewReader(huge), 1<<16)); err == nil {
		t.Error("too many attributes accepted")
	}
	if err := Write(io.Discard, Attrs{{"a b", "x"}}); err == nil {
		t.Error("bad name written")
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte("a=b\nc=%0A%25\n\n"))
	f.Add([]byte("x=%zz%\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Read(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		b, err := Read(bufio.NewReader(bytes.NewReader(Encode(a))))
		if err != nil || len(a) != len(b) {
			t.Fatalf("re-read failed: %v", err)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("round trip changed %q to %q", a[i], b[i])
			}
		}
	})
}
