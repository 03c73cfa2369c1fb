package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDebianGlue runs the calls Debian's init script and postfix@.service
// make.
func TestDebianGlue(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "postmulti")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// A fake postfix in command_directory records how it was called.
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("command_directory = "+dir+"\nqueue_directory = "+dir+"/q\n"), 0644)
	os.WriteFile(filepath.Join(dir, "postfix"), []byte("#!/bin/sh\necho \"postfix $* $MAIL_CONFIG\"\nexit 3\n"), 0755)
	run := func(args ...string) (string, int) {
		c := exec.Command(bin, args...)
		c.Env = append(os.Environ(), "MAIL_CONFIG="+dir)
		out, err := c.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		return string(out), 0
	}
	if out, _ := run("-l", "-a"); out != "-               -               y         "+dir+"\n" {
		t.Errorf("-l -a: %q", out)
	}
	if out, code := run("-i", "-", "-x", "sh", "-c", "echo $MAIL_CONFIG $queue_directory"); code != 0 || out != dir+" "+dir+"/q\n" {
		t.Errorf("-x: %d %q", code, out)
	}
	if out, code := run("-i", "-", "-p", "status"); code != 3 || out != "postfix -c "+dir+" status "+dir+"\n" {
		t.Errorf("-p: %d %q", code, out)
	}
	if out, code := run("-i", "postfix-out", "-p", "start"); code != 1 || !strings.Contains(out, "No matching instances") {
		t.Errorf("other instance: %d %q", code, out)
	}
	// Unknown letters, a missing argument and two modes are refused with the usage line.
	for _, args := range [][]string{{"-z"}, {"-lz"}, {"-l", "-i"}, {"-lp"}} {
		if out, code := run(args...); code != 1 || out != "postmulti: fatal: "+usage+"\n" {
			t.Errorf("%q: %d %q", args, code, out)
		}
	}
	// Grouped letters with the instance glued on select the default instance.
	if out, code := run("-li-"); code != 0 || out != "-               -               y         "+dir+"\n" {
		t.Errorf("-li-: %d %q", code, out)
	}
}
