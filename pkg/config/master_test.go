package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const debianMaster = `#
# Postfix master process configuration file.
# ==========================================================================
# service type  private unpriv  chroot  wakeup  maxproc command + args
#               (yes)   (yes)   (no)    (never) (100)
# ==========================================================================
smtp      inet  n       -       y       -       -       smtpd
#submission inet n       -       y       -       -       smtpd
#  -o syslog_name=postfix/submission
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
local     unix  -       n       n       -       -       local
postlog   unix-dgram n  -       n       -       1       postlogd
127.0.0.1:2525 inet n   -       n       -       10      smtpd
[::1]:25  inet  n       -       n       -       -       smtpd
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
# a comment between continuation lines
  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }

  -o smtpd_tls_security_level=encrypt -osmtpd_sasl_auth_enable=yes
  -v { arg with spaces }
`

func TestParseMaster(t *testing.T) {
	c := mustParse(t, "default_process_limit = 50\n")
	svcs, err := ParseMaster(strings.NewReader(debianMaster), c)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]Service{}
	for _, s := range svcs {
		byKey[s.Key()] = s
	}
	if len(svcs) != 11 {
		t.Fatalf("got %d services: %v", len(svcs), svcs)
	}
	tests := []struct {
		key                     string
		private, unpriv, chroot bool
		wakeup                  int
		onUse                   bool
		maxproc                 int
		command                 string
		line                    int
	}{
		{"smtp/inet", false, true, true, 0, false, 50, "smtpd", 7},
		{"pickup/unix", false, true, true, 60, false, 1, "pickup", 10},
		{"cleanup/unix", false, true, true, 0, false, 0, "cleanup", 11},
		{"qmgr/unix", false, true, false, 300, false, 1, "qmgr", 12},
		{"tlsmgr/unix", true, true, true, 1000, true, 1, "tlsmgr", 13},
		{"relay/unix", true, true, true, 0, false, 50, "smtp", 14},
		{"local/unix", true, false, false, 0, false, 50, "local", 16},
		{"postlog/unix-dgram", false, true, false, 0, false, 1, "postlogd", 17},
		{"127.0.0.1:2525/inet", false, true, false, 0, false, 10, "smtpd", 18},
		{"[::1]:25/inet", false, true, false, 0, false, 50, "smtpd", 19},
	}
	for _, tt := range tests {
		s, ok := byKey[tt.key]
		if !ok {
			t.Errorf("%s missing", tt.key)
			continue
		}
		if s.Private != tt.private || s.Unpriv != tt.unpriv || s.Chroot != tt.chroot || s.Wakeup != tt.wakeup ||
			s.WakeupOnUse != tt.onUse || s.MaxProc != tt.maxproc || s.Command != tt.command || s.Line != tt.line {
			t.Errorf("%s = %+v", tt.key, s)
		}
	}
	relay := byKey["relay/unix"]
	if !reflect.DeepEqual(relay.Args, []string{"-o", "syslog_name=postfix/$service_name"}) ||
		!reflect.DeepEqual(relay.Overrides, [][2]string{{"syslog_name", "postfix/$service_name"}}) {
		t.Errorf("relay args %q overrides %q", relay.Args, relay.Overrides)
	}
	sub := byKey["submission/inet"]
	wantArgs := []string{"-o", "syslog_name=postfix/submission",
		"-o", "smtpd_client_restrictions=permit_sasl_authenticated, reject",
		"-o", "smtpd_tls_security_level=encrypt", "-o", "smtpd_sasl_auth_enable=yes",
		"-v", "arg with spaces"}
	if !reflect.DeepEqual(sub.Args, wantArgs) {
		t.Errorf("submission args = %q", sub.Args)
	}
	if len(sub.Overrides) != 4 || sub.Overrides[1] != [2]string{"smtpd_client_restrictions", "permit_sasl_authenticated, reject"} {
		t.Errorf("submission overrides = %q", sub.Overrides)
	}
}

func TestParseMasterDefaultsAndDuplicates(t *testing.T) {
	svcs, err := ParseMaster(strings.NewReader("a unix - - - - - cmd1\nb unix - - - - - x\na unix n n y 5 3 cmd2 arg\na inet - - - - - cmd3\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) != 3 || svcs[0].Command != "cmd2" || svcs[0].MaxProc != 3 || !svcs[0].Chroot || svcs[0].Line != 3 {
		t.Fatalf("duplicates: %+v", svcs)
	}
	b := svcs[1]
	if !b.Private || !b.Unpriv || b.Chroot || b.Wakeup != 0 || b.MaxProc != 100 || len(b.Args) != 0 {
		t.Errorf("defaults: %+v", b)
	}
	if svcs[2].Private {
		t.Error("inet service private")
	}
}

func TestParseMasterErrors(t *testing.T) {
	bad := []string{
		"smtp inet n - y - - \n",           // 7 fields
		"smtp tcp n - y - - smtpd\n",       // bad type
		"smtp inet x - y - - smtpd\n",      // bad bool
		"smtp inet n - y 1x - smtpd\n",     // bad wakeup
		"smtp inet n - y - -5 smtpd\n",     // bad maxproc
		"smtp inet n - y - - smtpd -o {\n", // unterminated brace
		"smtp inet n - y - - smtpd -o { novalue }\n",
	}
	for _, text := range bad {
		if _, err := ParseMaster(strings.NewReader(text), nil); err == nil {
			t.Errorf("ParseMaster(%q): no error", text)
		} else if !strings.Contains(err.Error(), "line 1") {
			t.Errorf("error %v lacks line number", err)
		}
	}
}

func TestLoadMaster(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadMaster(dir, nil); err == nil {
		t.Error("missing master.cf: no error")
	}
	os.WriteFile(filepath.Join(dir, "master.cf"), []byte("smtp inet n - n - - smtpd\r\n  -o a=b\r\n"), 0644)
	s, err := LoadMaster(dir, nil)
	if err != nil || len(s) != 1 || !reflect.DeepEqual(s[0].Overrides, [][2]string{{"a", "b"}}) {
		t.Fatalf("LoadMaster = %+v, %v", s, err)
	}
}
