package config

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	return c
}

func TestParseRaw(t *testing.T) {
	long := strings.Repeat("x", 200000)
	tests := []struct {
		name, text, param, want string
		set                     bool
	}{
		{"simple", "a = b\n", "a", "b", true},
		{"no spaces", "a=b", "a", "b", true},
		{"trailing ws", "a =   b c  \t\n", "a", "b c", true},
		{"hash in value", "a = b # not a comment\n", "a", "b # not a comment", true},
		{"comment line", "# a = x\na = y\n", "a", "y", true},
		{"indented comment is comment", "a = y\n   # a = z\n", "a", "y", true},
		{"continuation", "a = b,\n    c\n", "a", "b,    c", true},
		{"continuation with comments between", "a = b,\n# c1\n\n   # c2\n\tc\n", "a", "b,\tc", true},
		{"last wins", "a = 1\nb = 2\na = 3\n", "a", "3", true},
		{"crlf", "a = b\r\nc = d\r\n  e\r\n", "c", "d  e", true},
		{"no final newline", "a = b", "a", "b", true},
		{"empty value", "a =\n", "a", "", true},
		{"value with =", "a = b=c\n", "a", "b=c", true},
		{"very long line", "a = " + long + "\n", "a", long, true},
		{"not set", "a = b\n", "zz", "", false},
		{"leading ws line ignored", "   x = 1\na = 2\n", "x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.text)
			got, ok := c.Raw(tt.param)
			if got != tt.want || ok != tt.set {
				t.Errorf("Raw(%q) = %q, %v; want %q, %v", tt.param, truncate(got, 50), ok, truncate(tt.want, 50), tt.set)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, text := range []string{"foo\n", "= bar\n", "a = 1\nbroken line\n"} {
		if _, err := Parse(strings.NewReader(text)); err == nil {
			t.Errorf("Parse(%q): no error", text)
		}
	}
	_, err := Parse(strings.NewReader("a = 1\nbroken\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("error %v does not name line 2", err)
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		name, text, param, want string
	}{
		{"plain ref", "a = x\nb = <$a>", "b", "<x>"},
		{"braces", "a = x\nb = ${a}y", "b", "xy"},
		{"parens", "a = x\nb = $(a)y", "b", "xy"},
		{"undefined", "b = [$nosuch]", "b", "[]"},
		{"dollar dollar", "b = a$$b", "b", "a$b"},
		{"lone dollar", "b = cost $ 5 $", "b", "cost $ 5 $"},
		{"recursive", "a = $b\nb = $c\nc = end", "a", "end"},
		{"cond set", "a = 1\nb = ${a?yes}", "b", "yes"},
		{"cond unset", "b = ${a?yes}", "b", ""},
		{"cond braced", "a = 1\nb = ${a?{ y e s }}", "b", "y e s"},
		{"cond colon unset", "b = ${a:dflt}", "b", "dflt"},
		{"cond colon set", "a = 1\nb = ${a:dflt}", "b", ""},
		{"cond colon braced", "b = ${a:{ d }}", "b", "d"},
		{"if else set", "a = 1\nb = ${a?{t}:{f}}", "b", "t"},
		{"space after name is malformed", "b = ${a ? {t} : {f}}", "b", "${a ? {t} : {f}}"},
		{"if else unset2", "b = ${a?{t} : {f}}", "b", "f"},
		{"nested", "a = A\nc = C\nb = ${a?{$c${c?{[$a]}}}:{no}}", "b", "C[A]"},
		{"nested else", "c = C\nb = ${a?{x}:{${c:{no}}$c}}", "b", "C"},
		{"old style value with colon", "a = 1\nb = ${a?x:y}", "b", "x:y"},
		{"multi instance", "", "syslog_name", "postfix"},
		{"multi instance set", "multi_instance_name = pf2", "syslog_name", "pf2"},
		{"relational eq", "a = 3\nb = ${{$a} == {3} ? {eq} : {ne}}", "b", "eq"},
		{"relational ne", "a = 3\nb = ${{$a} != {3} ? {ne} : {eq}}", "b", "eq"},
		{"relational numeric", "b = ${{10} > {9} ? {gt} : {le}}", "b", "gt"},
		{"relational lexical", "b = ${{a10} > {a9} ? {gt} : {le}}", "b", "le"},
		{"relational le", "b = ${{9} <= {9} ? {y}}", "b", "y"},
		{"relational no else", "b = ${{1} < {0} ? {y}}", "b", ""},
		{"level lt", "compatibility_level = 3.6\nb = ${{$compatibility_level} <level {2} ? {old} : {new}}", "b", "new"},
		{"level 3.10 > 3.6", "b = ${{3.10} >level {3.6} ? {y} : {n}}", "b", "y"},
		{"level eq", "b = ${{3.6.0} ==level {3.6} ? {y} : {n}}", "b", "y"},
		{"append_dot_mydomain compat 0", "", "append_dot_mydomain", "yes"},
		{"append_dot_mydomain compat 1", "compatibility_level = 1", "append_dot_mydomain", "no"},
		{"relay restrictions 3.6", "compatibility_level = 3.6", "smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination"},
		{"relay restrictions 0", "", "smtpd_relay_restrictions", ""},
		{"mynetworks_style 2", "compatibility_level = 2", "mynetworks_style", "host"},
		{"mynetworks_style 0", "", "mynetworks_style", "subnet"},
		{"stress", "", "smtpd_timeout", "300s"},
		{"stress set", "stress = yes", "smtpd_timeout", "10s"},
		{"loop", "a = $b\nb = $a", "a", ""},
		{"self loop", "a = x$a", "a", ""},
		{"unterminated", "b = ${abc", "b", "${abc"},
		{"bad inner", "b = ${a b}", "b", "${a b}"},
		{"unknown user param", "my_own = v\nb = $my_own", "b", "v"},
		{"unknown get", "my_own = $mail_name", "my_own", "Postfix"},
		{"not known at all", "", "no_such_param", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.text)
			if got := c.Get(tt.param); got != tt.want {
				t.Errorf("Get(%q) = %q, want %q", tt.param, got, tt.want)
			}
		})
	}
}

func TestExpandExponentialTerminates(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 60; i++ {
		b.WriteString("p" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + " = ")
		n := i + 1
		ref := "p" + string(rune('a'+n%26)) + strings.Repeat("x", n/26)
		b.WriteString("$" + ref + "$" + ref + "\n")
	}
	c := mustParse(t, b.String())
	done := make(chan string)
	go func() { done <- c.Get("pa") }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("expansion did not terminate")
	}
}

func TestExpandNonRecursive(t *testing.T) {
	vars := map[string]string{"extension": "$evil", "user": "joe", "evil": "X"}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	got := Expand("$user${extension?{+$extension}}", lookup)
	if got != "joe+$evil" {
		t.Errorf("Expand = %q, want joe+$evil (lookup results are literal)", got)
	}
	if got := ExpandRecursive("$extension", lookup); got != "X" {
		t.Errorf("ExpandRecursive = %q", got)
	}
	if got := Expand("$home/.forward${recipient_delimiter}${extension}", lookup); got != "/.forward$evil" {
		t.Errorf("forward_path = %q", got)
	}
}

func TestOverrideCloneIsSet(t *testing.T) {
	c := mustParse(t, "a = 1\nsyslog_name = x\n")
	d := c.Clone()
	d.Override("a", "2")
	d.Override("syslog_name", "postfix/$service_name")
	d.Override("service_name", "submission")
	if c.Get("a") != "1" || d.Get("a") != "2" {
		t.Errorf("clone not independent: %q %q", c.Get("a"), d.Get("a"))
	}
	if got := d.Get("syslog_name"); got != "postfix/submission" {
		t.Errorf("syslog_name = %q", got)
	}
	if !c.IsSet("a") || c.IsSet("b") || c.IsSet("biff") {
		t.Error("IsSet wrong")
	}
	if !d.InFile("a") || d.InFile("service_name") {
		t.Error("InFile wrong")
	}
}

func TestTypedAccessors(t *testing.T) {
	c := mustParse(t, `
biff = no
x_bool = TRUE
message_size_limit = 123
bad_int = 12x
delay_warning_time = 4
maximal_queue_lifetime = 2
max_idle = 3m
ipc_timeout = 1w
minimal_backoff_time = junk
mydestination = a, b  c,,
	d
smtpd_recipient_restrictions = permit_mynetworks, check_policy_service { inet:127.0.0.1:9998, timeout=10s }, reject
`)
	if c.Bool("biff") || !c.Bool("x_bool") || !c.Bool("smtpd_delay_reject") {
		t.Error("Bool wrong")
	}
	if c.Int("message_size_limit") != 123 || c.Int("bad_int") != 0 || c.Int("default_process_limit") != 100 {
		t.Error("Int wrong")
	}
	durs := map[string]time.Duration{
		"delay_warning_time":     4 * time.Hour,
		"maximal_queue_lifetime": 48 * time.Hour,
		"bounce_queue_lifetime":  5 * 24 * time.Hour,
		"max_idle":               3 * time.Minute,
		"ipc_timeout":            7 * 24 * time.Hour,
		"minimal_backoff_time":   300 * time.Second, // malformed: default
		"smtpd_timeout":          300 * time.Second,
		"deliver_lock_delay":     time.Second,
	}
	for n, want := range durs {
		if got := c.Duration(n); got != want {
			t.Errorf("Duration(%s) = %v, want %v", n, got, want)
		}
	}
	if got := c.List("mydestination"); !reflect.DeepEqual(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("List = %q", got)
	}
	want := []string{"permit_mynetworks", "check_policy_service", "{ inet:127.0.0.1:9998, timeout=10s }", "reject"}
	if got := c.List("smtpd_recipient_restrictions"); !reflect.DeepEqual(got, want) {
		t.Errorf("List = %q", got)
	}
	if got := c.List("hash_queue_names"); !reflect.DeepEqual(got, []string{"deferred", "defer"}) {
		t.Errorf("hash_queue_names = %q", got)
	}
}

func TestDefaults(t *testing.T) {
	want := map[string]string{
		"queue_directory":              "/var/spool/postfix",
		"daemon_directory":             "/usr/lib/postfix/sbin",
		"command_directory":            "/usr/sbin",
		"mail_version":                 "3.7.11",
		"mail_owner":                   "postfix",
		"setgid_group":                 "postdrop",
		"myorigin":                     "$myhostname",
		"mydestination":                "$myhostname, localhost.$mydomain, localhost",
		"alias_maps":                   "hash:/etc/aliases, nis:mail.aliases",
		"alias_database":               "hash:/etc/aliases",
		"local_recipient_maps":         "proxy:unix:passwd.byname $alias_maps",
		"smtpd_banner":                 "$myhostname ESMTP $mail_name",
		"append_dot_mydomain":          "${{$compatibility_level} <level {1} ? {yes} : {no}}",
		"compatibility_level":          "0",
		"syslog_name":                  "${multi_instance_name?{$multi_instance_name}:{postfix}}",
		"maillog_file":                 "",
		"message_size_limit":           "10240000",
		"mailbox_size_limit":           "51200000",
		"delay_warning_time":           "0h",
		"maximal_queue_lifetime":       "5d",
		"mailbox_delivery_lock":        "fcntl, dotlock",
		"prepend_delivered_header":     "command, file, forward",
		"virtual_alias_maps":           "$virtual_maps",
		"virtual_alias_domains":        "$virtual_alias_maps",
		"message_drop_headers":         "bcc, content-length, resent-bcc, return-path",
		"hash_queue_names":             "deferred, defer",
		"notify_classes":               "resource, software",
		"in_flow_delay":                "1s",
		"inet_protocols":               "all",
		"biff":                         "yes",
		"smtpd_recipient_limit":        "1000",
		"import_environment":           "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME",
		"known_tcp_ports":              "lmtp=24, smtp=25, smtps=submissions=465, submission=587",
		"local_header_rewrite_clients": "permit_inet_interfaces",
	}
	for n, w := range want {
		if got, ok := DefaultValue(n); !ok || got != w {
			t.Errorf("DefaultValue(%s) = %q, %v; want %q", n, got, ok, w)
		}
	}
	if _, ok := DefaultValue("no_such_thing"); ok {
		t.Error("unknown name has a default")
	}
	if len(KnownNames()) < 800 {
		t.Errorf("only %d known names", len(KnownNames()))
	}
}

func TestComputedDefaults(t *testing.T) {
	host, _ := os.Hostname()
	c := mustParse(t, "")
	mh := c.Get("myhostname")
	if strings.Contains(host, ".") {
		if mh != host {
			t.Errorf("myhostname = %q", mh)
		}
	} else if mh != host+".localdomain" {
		t.Errorf("myhostname = %q, want %q", mh, host+".localdomain")
	}
	c = mustParse(t, "myhostname = mail.example.com\n")
	if got := c.Get("mydomain"); got != "example.com" {
		t.Errorf("mydomain = %q", got)
	}
	if got := c.Get("mydestination"); got != "mail.example.com, localhost.example.com, localhost" {
		t.Errorf("mydestination = %q", got)
	}
	c = mustParse(t, "myhostname = example.com\n")
	if got := c.Get("mydomain"); got != "localdomain" {
		t.Errorf("mydomain = %q", got)
	}
	if !strings.Contains(host, ".") {
		c = mustParse(t, "mydomain = corp.test\n")
		if got := c.Get("myhostname"); got != host+".corp.test" {
			t.Errorf("myhostname = %q", got)
		}
	}
	// Cycles through computed defaults terminate.
	c = mustParse(t, "mydomain = $myhostname\n")
	_ = c.Get("myhostname")
	c = mustParse(t, "myhostname = x.$mydomain\n")
	_ = c.Get("mydomain")
}

func TestMynetworks(t *testing.T) {
	old := interfaceAddrs
	defer func() { interfaceAddrs = old }()
	interfaceAddrs = func() ([]net.Addr, error) {
		mk := func(s string) net.Addr { ip, n, _ := net.ParseCIDR(s); n.IP = ip; return n }
		return []net.Addr{mk("127.0.0.1/8"), mk("192.168.1.20/24"), mk("::1/128"), mk("fe80::1/64"), mk("2001:db8::5/64")}, nil
	}
	tests := map[string]string{
		"mynetworks_style = host":                          "127.0.0.1/32 192.168.1.20/32 [::1]/128 [2001:db8::5]/128",
		"mynetworks_style = subnet":                        "127.0.0.0/8 192.168.1.0/24 [::1]/128 [2001:db8::]/64",
		"mynetworks_style = class":                         "127.0.0.0/8 192.168.1.0/24 [::1]/128 [2001:db8::]/64",
		"mynetworks_style = host\ninet_protocols = ipv4":   "127.0.0.1/32 192.168.1.20/32",
		"compatibility_level = 3.6":                        "127.0.0.1/32 192.168.1.20/32 [::1]/128 [2001:db8::5]/128",
		"mynetworks = 10.0.0.0/8\nmynetworks_style = host": "10.0.0.0/8",
	}
	for text, want := range tests {
		if got := mustParse(t, text).Get("mynetworks"); got != want {
			t.Errorf("%q: mynetworks = %q, want %q", text, got, want)
		}
	}
}

func TestMyOrigin(t *testing.T) {
	dir := t.TempDir()
	mailname := filepath.Join(dir, "mailname")
	os.WriteFile(mailname, []byte("mail.fossedu.org\nsecond\n"), 0644)
	c := mustParse(t, "myhostname = vm.example\nmyorigin = "+mailname+"\n")
	if got := c.MyOrigin(); got != "mail.fossedu.org" {
		t.Errorf("MyOrigin = %q", got)
	}
	if got := c.Get("myorigin"); got != mailname {
		t.Errorf("Get(myorigin) = %q", got)
	}
	c = mustParse(t, "myhostname = vm.example\nmyorigin = /nonexistent/mailname\n")
	if got := c.MyOrigin(); got != "vm.example" {
		t.Errorf("MyOrigin fallback = %q", got)
	}
	c = mustParse(t, "myhostname = vm.example\n")
	if got := c.MyOrigin(); got != "vm.example" {
		t.Errorf("MyOrigin = %q", got)
	}
}

func TestLoadAndDir(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(dir)
	if err != nil || c.Dir() != dir || len(c.SetNames()) != 0 {
		t.Fatalf("Load(empty dir) = %v, %v", c, err)
	}
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("a = 1\nbad\n"), 0644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "main.cf, line 2") {
		t.Errorf("Load error = %v", err)
	}
	t.Setenv("MAIL_CONFIG", "/env/dir")
	if Dir("/flag") != "/flag" || Dir("") != "/env/dir" {
		t.Error("Dir with env wrong")
	}
	t.Setenv("MAIL_CONFIG", "")
	if Dir("") != DefaultDir {
		t.Error("Dir default wrong")
	}
}

func TestNames(t *testing.T) {
	c := mustParse(t, "zzz_user = 1\nbiff = no\n")
	names := c.Names()
	found := false
	for i, n := range names {
		if i > 0 && names[i-1] >= n {
			t.Fatalf("Names not sorted/unique at %q", n)
		}
		if n == "zzz_user" {
			found = true
		}
	}
	if !found {
		t.Error("set name missing from Names")
	}
	if got := c.SetNames(); !reflect.DeepEqual(got, []string{"biff", "zzz_user"}) {
		t.Errorf("SetNames = %q", got)
	}
}
