package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// stderrOf runs postqueue with args and returns its status and what it wrote to stderr.
func stderrOf(t *testing.T, args ...string) (int, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	st := run(args)
	os.Stderr = saved
	w.Close()
	b, _ := io.ReadAll(r)
	r.Close()
	return st, string(b)
}

func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte("queue_directory = "+dir+"\n"), 0644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{"-x"}, exUsage, usage + "\n"},
		{[]string{"-vx"}, exUsage, usage + "\n"},
		{[]string{"-p", "-c"}, exUsage, usage + "\n"},
		{[]string{"-i"}, exUsage, usage + "\n"},
		{[]string{"-p", "extra"}, exUsage, usage + "\n"},
		{[]string{"-v"}, exUsage, usage + "\n"},
		// Grouped letters with the argument glued on or in the next word reach flushOne.
		{[]string{"-vc" + dir, "-ibad!id"}, exUsage, "postqueue: fatal: bad queue ID: bad!id\n"},
		{[]string{"-c", dir, "-vi", "bad!id"}, exUsage, "postqueue: fatal: bad queue ID: bad!id\n"},
	} {
		st, errOut := stderrOf(t, c.args...)
		if st != c.status || errOut != c.stderr {
			t.Errorf("%q: status %d stderr %q, want %d %q", c.args, st, errOut, c.status, c.stderr)
		}
	}
}
