package getopt

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		args []string
		opts string // each option as letter=arg, space separated
		rest []string
		err  string
	}{
		{[]string{"-bh", "-c", "/etc/x", "ID"}, "b= h= c=/etc/x", []string{"ID"}, ""},
		{[]string{"-c/etc/x", "-q", "A", "B"}, "c=/etc/x q=", []string{"A", "B"}, ""},
		{[]string{"-qc/etc/x", "--", "-b"}, "q= c=/etc/x", []string{"-b"}, ""},
		{[]string{"-", "-b"}, "", []string{"-", "-b"}, ""},
		{[]string{"ID", "-b"}, "", []string{"ID", "-b"}, ""},
		{[]string{"-x"}, "", nil, "invalid option -- 'x'"},
		{[]string{"-b", "-c"}, "b=", nil, "option requires an argument -- 'c'"},
		{[]string{"-:"}, "", nil, "invalid option -- ':'"},
	} {
		var seen []string
		rest, err := Parse(c.args, "bhqc:", func(o byte, a string) error {
			seen = append(seen, string(o)+"="+a)
			return nil
		})
		if got := errText(err); got != c.err {
			t.Errorf("%q: error %q, want %q", c.args, got, c.err)
			continue
		}
		if got := strings.Join(seen, " "); got != c.opts {
			t.Errorf("%q: options %q, want %q", c.args, got, c.opts)
		}
		if err == nil && !reflect.DeepEqual(rest, c.rest) {
			t.Errorf("%q: operands %q, want %q", c.args, rest, c.rest)
		}
	}
	stop := errors.New("stop")
	if _, err := Parse([]string{"-b"}, "b", func(byte, string) error { return stop }); err != stop {
		t.Errorf("fn's error %v, want it returned", err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestOptionalArgument pins "::": the argument is taken only when glued to the letter, so a
// bare -q leaves the next word an operand (sendmail -q, sendmail -q30m).
func TestOptionalArgument(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		got      string
		operands int
	}{
		{[]string{"-q"}, "q=", 0},
		{[]string{"-q30m"}, "q=30m", 0},
		{[]string{"-q", "user"}, "q=", 1},
		{[]string{"-tq"}, "t=q=", 0},
		{[]string{"-qIABC", "-t"}, "q=IABCt=", 0},
	} {
		got := ""
		ops, err := Parse(tc.args, "q::t", func(c byte, arg string) error {
			got += string(c) + "=" + arg
			return nil
		})
		if err != nil || got != tc.got || len(ops) != tc.operands {
			t.Errorf("%q: %q, %d operands, %v; want %q, %d", tc.args, got, len(ops), err, tc.got, tc.operands)
		}
	}
}
