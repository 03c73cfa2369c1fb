package passwd

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestScanFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("# comment\n\na:b:c:d\ne::f\nstop:x\nafter:y\n"), 0644)
	var got [][]string
	err := ScanFile(p, 3, func(f []string) bool {
		got = append(got, f)
		return f[0] == "stop"
	})
	want := [][]string{{"a", "b", "c:d"}, {"e", "", "f"}, {"stop", "x"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%v %q", err, got)
	}
	// A line longer than MaxLine is an error, never a truncated entry.
	os.WriteFile(p, []byte("a:"+strings.Repeat("x", MaxLine)+"\n"), 0644)
	if err := ScanFile(p, -1, func([]string) bool { t.Fatal("called"); return true }); !errors.Is(err, bufio.ErrTooLong) {
		t.Fatal(err)
	}
	if err := ScanFile(filepath.Join(t.TempDir(), "none"), -1, nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}
