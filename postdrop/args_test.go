package main

import "testing"

// TestParseArgs pins postdrop's command line as Postfix's: -c DIR or -cDIR, -r and -v
// grouped or not, and getopt(3)'s refusals.
func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		dir     string
		verbose bool
		err     string
	}{
		{args: nil},
		{args: []string{"-r"}},
		{args: []string{"-c", "/etc/x"}, dir: "/etc/x"},
		{args: []string{"-rvc/etc/y"}, dir: "/etc/y", verbose: true},
		{args: []string{"-v", "--"}, verbose: true},
		{args: []string{"-x"}, err: "invalid option -- 'x'"},
		{args: []string{"-c"}, err: "option requires an argument -- 'c'"},
		{args: []string{"queueid"}, err: "usage: postdrop [-rv] [-c config_dir]"},
		{args: []string{"-r", "--", "extra"}, err: "usage: postdrop [-rv] [-c config_dir]"},
	} {
		dir, verbose, err := parseArgs(tc.args)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || dir != tc.dir || verbose != tc.verbose {
			t.Errorf("%q: (%q, %v, %v), want (%q, %v, nil)", tc.args, dir, verbose, err, tc.dir, tc.verbose)
		}
	}
}
