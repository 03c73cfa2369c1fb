package main

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// debianMaster is Debian 12's stock master.cf (postfix 3.7.11, /usr/share/postfix/master.cf.dist).
func debianMaster(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/debian-master.cf")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n%s", name, lineDiff(string(want), got))
	}
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want " + a + "\n  got  " + c + "\n")
			if n++; n > 5 {
				break
			}
		}
	}
	return b.String()
}

func readMaster(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "master.cf"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMasterEditGolden runs the master.cf edits on Debian's stock master.cf and compares the
// whole resulting file with a golden copy: edited entries in postconf's folded layout,
// every other line (comments included) byte for byte.
func TestMasterEditGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		// Debian's own "postconf -F '*/*/chroot = n'": every entry rewritten.
		{"edit-chroot-n.cf", []string{"-F", "*/*/chroot = n"}},
		// A new entry (only a commented one exists): appended at the end.
		{"edit-me-add.cf", []string{"-Me", "submission/inet = submission inet n - y - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt"}},
		// Replacing an existing entry in place, by pattern.
		{"edit-me-replace.cf", []string{"-M", "smtp/inet=smtp inet n - n - - smtpd -o smtpd_tls_security_level=may"}},
		{"edit-mx.cf", []string{"-MX", "uucp/unix", "smtp/inet", "nosuch/unix"}},
		{"edit-mhash.cf", []string{"-M#", "maildrop/unix", "relay/unix"}},
		{"edit-pe.cf", []string{"-Pe", "relay/unix/smtp_helo_timeout=10", "relay/unix/syslog_name=postfix/relay", "smtp/inet/smtpd_tls_security_level=encrypt"}},
		{"edit-px.cf", []string{"-PX", "relay/unix/syslog_name"}},
		{"edit-fe-command.cf", []string{"-Fe", "smtp/inet/command=smtpd -v -o { smtpd_client_restrictions = permit_mynetworks, reject }"}},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			dir := setup(t, "", debianMaster(t))
			out, errOut, st := pc(t, append([]string{"-c", dir}, tc.args...)...)
			if st != 0 || out != "" || errOut != "" {
				t.Fatalf("status %d, stdout %q, stderr %q", st, out, errOut)
			}
			golden(t, tc.golden, readMaster(t, dir))
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if e.Name() != "master.cf" {
					t.Errorf("left behind: %s", e.Name())
				}
			}
		})
	}
}

// TestMasterShowGolden: -M, -Mf, -F and -P on Debian's master.cf.
func TestMasterShowGolden(t *testing.T) {
	dir := setup(t, "", debianMaster(t))
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"show-M.txt", []string{"-M"}},
		{"show-Mf.txt", []string{"-Mf"}},
		{"show-F.txt", []string{"-F"}},
		{"show-P.txt", []string{"-P"}},
	} {
		out, errOut, st := pc(t, append([]string{"-c", dir}, tc.args...)...)
		if st != 0 || errOut != "" {
			t.Fatalf("%v: status %d stderr %q", tc.args, st, errOut)
		}
		golden(t, tc.golden, out)
	}
}

// TestMasterPostfixCases are cases of Postfix's own postconf tests (test40-56), with their
// expected output.
func TestMasterPostfixCases(t *testing.T) {
	three := "foo unix - n n - 0 other\nbar inet - n n 0 0 other\nbaz unix - n n 0 0 other\n"

	// -MX: entries removed, unknown ones ignored without a word.
	dir := setup(t, "", three)
	if _, e, st := pc(t, "-c", dir, "-MX", "bar/inet", "foo/unix", "xxx/yyy"); st != 0 || e != "" {
		t.Fatalf("-MX: %d %q", st, e)
	}
	if got := readMaster(t, dir); got != "baz unix - n n 0 0 other\n" {
		t.Errorf("-MX: %q", got)
	}

	// -M#: continuation lines are commented out too.
	dir = setup(t, "", "foo unix - n n - 0 other\nbar inet - n n 0 0 other\n -o first\n -o second\nbaz unix - n n 0 0 other\n")
	if _, e, st := pc(t, "-c", dir, "-M#", "bar/inet", "xxx/yyy"); st != 0 || e != "" {
		t.Fatalf("-M#: %d %q", st, e)
	}
	if got, want := readMaster(t, dir), "foo unix - n n - 0 other\n#bar inet - n n 0 0 other\n# -o first\n# -o second\nbaz unix - n n 0 0 other\n"; got != want {
		t.Errorf("-M#: got %q want %q", got, want)
	}

	// -Pe adds, then updates; -PX removes; -P lists sorted by name.
	dir = setup(t, "", "foo unix - n n - 0 other\nbar unix - n n - 0 other\nbaz unix - n n - 0 other\n")
	pc(t, "-c", dir, "-P", "bar/unix/xxx=yyy", "bar/unix/aaa=bbb")
	out, _, _ := pc(t, "-c", dir, "-Mf")
	if want := "foo        unix  -       n       n       -       0       other\nbar        unix  -       n       n       -       0       other\n    -o xxx=yyy\n    -o aaa=bbb\nbaz        unix  -       n       n       -       0       other\n"; out != want {
		t.Errorf("-Pe then -Mf:\n%s\nwant:\n%s", out, want)
	}
	pc(t, "-c", dir, "-P", "bar/unix/xxx=YYY", "bar/unix/aaa=BBB")
	if out, _, _ := pc(t, "-c", dir, "-P"); out != "bar/unix/aaa = BBB\nbar/unix/xxx = YYY\n" {
		t.Errorf("-P: %q", out)
	}
	pc(t, "-c", dir, "-PX", "bar/unix/xxx", "bar/unix/aaa")
	if out, _, _ := pc(t, "-c", dir, "-Mf"); !strings.HasPrefix(out, "foo        unix  -       n       n       -       0       other\nbar        unix  -       n       n       -       0       other\nbaz") {
		t.Errorf("-PX then -Mf:\n%s", out)
	}

	// -Fe of a single field and of the command with its arguments ("-stuffobb=cc" is
	// "-stuff" then "-o bb=cc").
	dir = setup(t, "", "foo unix - n n - 0 other\nbar unix - n n - 0 other\nbaz unix - n n - 0 other\n")
	pc(t, "-c", dir, "-F", "bar/unix/chroot=y", "bar/unix/command=aa -stuffobb=cc dd")
	if out, _, _ := pc(t, "-c", dir, "-Mf", "bar"); out != "bar        unix  -       n       y       -       0       aa -stuff\n    -o bb=cc\n    dd\n" {
		t.Errorf("-Fe: %q", out)
	}

	// -Me with a different name/type replaces the entry in place.
	dir = setup(t, "", "foo unix - n n - 0 other\nbar unix - n n - 0 other\nbaz unix - n n - 0 other\n")
	pc(t, "-c", dir, "-M", "bar/unix=xx inet - n n - 0 aa -stuffobb=cc dd")
	if out, _, _ := pc(t, "-c", dir, "-Mf"); out != "foo        unix  -       n       n       -       0       other\nxx         inet  -       n       n       -       0       aa -stuff\n    -o bb=cc\n    dd\nbaz        unix  -       n       n       -       0       other\n" {
		t.Errorf("-Me rename: %q", out)
	}

	// Options folded as Postfix does: "-voaaa=bbb" is "-v -o aaa=bbb".
	dir = setup(t, "", "foo unix - n n - 0 other\n -voaaa=bbb\n -vo ccc=$aaa\n -v -oddd=$ccc\n")
	if out, _, _ := pc(t, "-c", dir, "-Mf"); out != "foo        unix  -       n       n       -       0       other -v\n    -o aaa=bbb\n    -v\n    -o ccc=$aaa\n    -v\n    -o ddd=$ccc\n" {
		t.Errorf("-Mf options: %q", out)
	}
	if out, _, _ := pc(t, "-c", dir, "-Pxh", "foo/unix/ddd"); out != "bbb\n" {
		t.Errorf("-Pxh: %q", out)
	}
}

// TestMasterErrors: postconf's diagnostics, and a failed edit leaves master.cf as it was.
func TestMasterErrors(t *testing.T) {
	orig := "foo unix - n n - 0 other\nbar inet - n n 0 0 other\n"
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"-Fe", "bar/inet/chroot=x"}, `postconf: fatal: invalid chroot field "x" in "x"`},
		{[]string{"-Fe", "bar/inet/chroot=y n"}, "postconf: fatal: -Fe does not accept whitespace in non-command field"},
		{[]string{"-Fe", "bar/inet/*=y"}, "postconf: fatal: -Fe does not accept wild-card field name"},
		{[]string{"-Fe", "bar/inet/colour=y"}, `postconf: fatal: invalid service attribute name: "colour"`},
		{[]string{"-Fe", "bar/inet=y"}, "postconf: fatal: -Fe or -FX requires service_name/type/field_name"},
		{[]string{"-Pe", "bar/inet/x=a b"}, "postconf: fatal: -Pe does not accept whitespace in parameter value"},
		{[]string{"-Pe", "bar/inet/*=a"}, "postconf: fatal: -Pe does not accept wild-card parameter name"},
		{[]string{"-Me", "bar=x"}, "postconf: fatal: -Me, -MX or -M# requires service_name/type"},
		{[]string{"-Me", "bar/inet=bar xxxx - n n - 0 other"}, `postconf: fatal: invalid type field "xxxx" in "bar xxxx - n n - 0 other"`},
		{[]string{"-Me", "bar/inet=bar inet"}, `postconf: fatal: bad field count: "bar/inet=bar inet"`},
		{[]string{"-MX", "bar/inet=x"}, "postconf: fatal: specify one of -e -X"},
		{[]string{"-MX"}, "postconf: fatal: missing service argument"},
		{[]string{"-FX", "bar/inet/chroot"}, "postconf: fatal: with option -F, do not specify -X"},
		{[]string{"-P#", "bar/inet/x"}, "postconf: fatal: with option -P, do not specify -#"},
		{[]string{"-MF"}, "postconf: fatal: specify one of -F -M"},
		{[]string{"-Md"}, "postconf: fatal: with option -M, do not specify -d"},
		{[]string{"-M", "a/b/c"}, "postconf: fatal: -M option requires service_name[/type]"},
	}
	for _, tc := range tests {
		dir := setup(t, "", orig)
		_, errOut, st := pc(t, append([]string{"-c", dir}, tc.args...)...)
		if st != 1 || errOut != tc.err+"\n" {
			t.Errorf("%q: status %d, stderr %q, want %q", tc.args, st, errOut, tc.err)
		}
		if got := readMaster(t, dir); got != orig {
			t.Errorf("%q changed master.cf: %q", tc.args, got)
		}
	}

	// A bad entry in master.cf itself.
	dir := setup(t, "", "foo unix - n n - 0 other\nbar inet X n n - 0 other\n")
	if _, errOut, st := pc(t, "-c", dir, "-M"); st != 1 || errOut != "postconf: fatal: invalid private field \"X\" in \"bar inet X n n - 0 other\"\n" {
		t.Errorf("-M bad private: %d %q", st, errOut)
	}
	dir = setup(t, "", "foo unix - n n - 0\n")
	if _, errOut, st := pc(t, "-c", dir, "-F"); st != 1 || errOut != "postconf: fatal: file "+dir+"/master.cf: line 1: bad field count\n" {
		t.Errorf("-F short entry: %d %q", st, errOut)
	}

	// No master.cf.
	dir = t.TempDir()
	if _, errOut, st := pc(t, "-c", dir, "-MX", "foo/unix"); st != 1 || errOut != "postconf: fatal: open "+dir+"/master.cf for reading: No such file or directory\n" {
		t.Errorf("missing master.cf: %d %q", st, errOut)
	}

	// Unmatched -Fe/-Pe requests are warnings; unmatched display requests too.
	dir = setup(t, "", orig)
	if _, errOut, st := pc(t, "-c", dir, "-Pe", "nosuch/unix/x=1"); st != 0 || errOut != "postconf: warning: unmatched service_name/type: \"nosuch/unix/x=1\"\n" {
		t.Errorf("unmatched -Pe: %d %q", st, errOut)
	}
	if out, errOut, st := pc(t, "-c", dir, "-F", "bar/unix"); st != 0 || out != "" || errOut != "postconf: warning: unmatched request: \"bar/unix\"\n" {
		t.Errorf("unmatched -F: %d %q %q", st, out, errOut)
	}
}

// TestMasterEditKeepsModeAndComments: comments between an entry's continuation lines stay
// (before the rewritten entry), the file mode is kept, and no temporary file is left.
func TestMasterEditKeepsModeAndComments(t *testing.T) {
	in := "# head\nsmtp inet n - y - - smtpd\n# inside\n  -o a=1\n\n# after\nlocal unix - n n - - local\n"
	dir := setup(t, "", in)
	os.Chmod(filepath.Join(dir, "master.cf"), 0640)
	if _, e, st := pc(t, "-c", dir, "-Pe", "smtp/inet/b=2"); st != 0 || e != "" {
		t.Fatal(st, e)
	}
	want := "# head\n# inside\nsmtp       inet  n       -       y       -       -       smtpd\n    -o a=1\n    -o b=2\n\n# after\nlocal unix - n n - - local\n"
	if got := readMaster(t, dir); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "master.cf")); fi.Mode().Perm() != 0640 {
		t.Errorf("mode %v", fi.Mode())
	}
}
