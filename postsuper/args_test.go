package main

import (
	"reflect"
	"strings"
	"testing"
)

// TestParseArgs pins the command line: grouped letters, arguments glued on or in the next
// word, "-" reading IDs from stdin once, and getopt's refusals reported as the usage line.
func TestParseArgs(t *testing.T) {
	r, err := parseArgs([]string{"-vsc/etc/x", "-d", "-", "-h-", "-rALL", "deferred"}, strings.NewReader("AB12 x\n\nCD34\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[byte][]string{'d': {"AB12", "CD34"}, 'h': {"AB12", "CD34"}, 'r': {"ALL"}}
	if r.configDir != "/etc/x" || !r.structure || !reflect.DeepEqual(r.ids, want) || !reflect.DeepEqual(r.queues, []string{"deferred"}) {
		t.Errorf("got %+v", r)
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"-x"}, usage},
		{[]string{"-px"}, usage},
		{[]string{"-p", "-d"}, usage},
		{[]string{"-d", "../x"}, "invalid queue id: ../x"},
		{[]string{"-d", "ALL", "etc"}, "invalid directory name: etc"},
	} {
		if _, err := parseArgs(c.args, strings.NewReader("")); err == nil || err.Error() != c.err {
			t.Errorf("%q: error %v, want %q", c.args, err, c.err)
		}
	}
}
