package queue

import (
	"bytes"
	"testing"
)

func TestWriteLineSplits(t *testing.T) {
	var b bytes.Buffer
	if err := WriteLine(&b, []byte("abcdefg"), 3); err != nil {
		t.Fatal(err)
	}
	rr := NewRecordReader(&b, 0)
	var got []string
	for {
		typ, data, _, err := rr.Next()
		if err != nil {
			break
		}
		got = append(got, string(typ)+string(data))
	}
	want := []string{"Labc", "Ldef", "Ng"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}
