package main

import (
	"reflect"
	"testing"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		prog string
		args []string
		want options
		err  string
	}{
		{"sendmail", []string{"a", "b"}, options{rcpts: []string{"a", "b"}}, ""},
		{"sendmail", []string{"-t", "-i"}, options{extract: true, ignoreDots: true, rcpts: []string{}}, ""},
		{"sendmail", []string{"-ti", "-oi", "--", "-x"}, options{extract: true, ignoreDots: true, rcpts: []string{"-x"}}, ""},
		{"sendmail", []string{"-f", "x@y", "-F", "Joe", "u"}, options{sender: "x@y", senderSet: true, fullName: "Joe", fullSet: true, rcpts: []string{"u"}}, ""},
		{"sendmail", []string{"-fx@y", "-r", "z", "u"}, options{sender: "z", senderSet: true, rcpts: []string{"u"}}, ""},
		{"sendmail", []string{"-f", "", "u"}, options{sender: "", senderSet: true, rcpts: []string{"u"}}, ""},
		{"sendmail", []string{"u", "-f", "x"}, options{rcpts: []string{"u", "-f", "x"}}, ""},
		{"sendmail", []string{"-N", "success,delay", "u"}, options{notify: notifySuccess | notifyDelay, rcpts: []string{"u"}}, ""},
		{"sendmail", []string{"-Nnever", "u"}, options{notify: notifyNever, rcpts: []string{"u"}}, ""},
		{"sendmail", []string{"-N", "never,success", "u"}, options{}, "bad -N option value: never,success"},
		{"sendmail", []string{"-N", "bogus"}, options{}, "bad -N option value: bogus"},
		{"sendmail", []string{"-R", "hdrs", "-V", "env1", "-B", "8BITMIME", "u"}, options{ret: retHdrs, envid: "env1", encoding: "8bit", rcpts: []string{"u"}}, ""},
		{"sendmail", []string{"-B", "binary"}, options{}, "-B option needs 8BITMIME or 7BIT"},
		{"sendmail", []string{"-bp"}, options{mode: modeMailq, rcpts: []string{}}, ""},
		{"mailq", nil, options{mode: modeMailq, rcpts: []string{}}, ""},
		{"/usr/bin/newaliases", nil, options{mode: modeNewaliases, rcpts: []string{}}, ""},
		{"sendmail", []string{"-bi", "-oA/etc/x"}, options{mode: modeNewaliases, aliasMaps: []string{"/etc/x"}, rcpts: []string{}}, ""},
		{"sendmail", []string{"-I"}, options{mode: modeNewaliases, rcpts: []string{}}, ""},
		{"sendmail", []string{"-q"}, options{mode: modeFlush, rcpts: []string{}}, ""},
		{"sendmail", []string{"-q30m"}, options{mode: modeFlush, rcpts: []string{}}, ""},
		{"sendmail", []string{"-bd", "-q30m"}, options{mode: modeDaemon, rcpts: []string{}}, ""},
		{"sendmail", []string{"-qRexample.com"}, options{mode: modeFlush, site: "example.com", rcpts: []string{}}, ""},
		{"sendmail", []string{"-qIABC123"}, options{mode: modeFlush, qid: "ABC123", rcpts: []string{}}, ""},
		{"sendmail", []string{"-qR"}, options{}, "-qR requires site name"},
		{"sendmail", []string{"-qX"}, options{}, "-qX is not implemented"},
		{"sendmail", []string{"-q", "u"}, options{}, "flush queue requires no recipient"},
		{"sendmail", []string{"-bs"}, options{mode: modeSMTP, rcpts: []string{}}, ""},
		{"sendmail", []string{"-bz"}, options{}, "unsupported: -bz"},
		{"sendmail", []string{"-t", "-bp"}, options{}, "-t can be used only in delivery mode"},
		{"sendmail", []string{"-t", "-bv"}, options{}, "-t option cannot be used with -bv"},
		{"sendmail", []string{"-bd", "u"}, options{}, "daemon mode requires no recipient"},
		{"sendmail", []string{"-n", "u"}, options{}, "-n option not supported"},
		{"sendmail", []string{"-z"}, options{}, "invalid option -- 'z'"},
		{"sendmail", []string{"-f"}, options{}, "option requires an argument -- 'f'"},
		{"sendmail", []string{"-C", "/etc/other", "-v", "-v", "u"}, options{configDir: "/etc/other", verbose: 2, rcpts: []string{"u"}}, ""},
		{"sendmail", []string{"-G", "-U", "-m", "-c", "-x", "-Am", "-L", "lbl", "-O", "a=b", "-o7", "-om", "-h", "5", "-e", "m", "-p", "x", "-XV", "u"}, options{remote: true, rcpts: []string{"u"}}, ""},
		{"sendmail", []string{"-bm", "-bh", "u"}, options{rcpts: []string{"u"}}, ""},
	} {
		o, err := parseArgs(tc.prog, tc.args)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s %q: error %v, want %q", tc.prog, tc.args, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q: %v", tc.prog, tc.args, err)
			continue
		}
		if !reflect.DeepEqual(*o, tc.want) {
			t.Errorf("%s %q:\n got %+v\nwant %+v", tc.prog, tc.args, *o, tc.want)
		}
	}
}

func TestParseSender(t *testing.T) {
	for _, tc := range []struct {
		in, want  string
		malformed bool
	}{
		{"", "", false}, {"<>", "", false}, {" <> ", "", false},
		{"joe", "joe", false}, {"Joe <joe@x>", "joe@x", false}, {"a@x, b@y", "a@x", true},
	} {
		got, m := parseSender(tc.in)
		if got != tc.want || m != tc.malformed {
			t.Errorf("parseSender(%q) = %q, %v", tc.in, got, m)
		}
	}
}
