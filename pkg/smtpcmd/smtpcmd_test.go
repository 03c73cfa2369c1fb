package smtpcmd

import (
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	for _, tc := range []struct {
		arg, prefix, addr, params string
		err                       error
	}{
		{"FROM:<a@b.example>", "FROM:", "a@b.example", "", nil},
		{"from: <a@b.example> SIZE=10 BODY=8BITMIME", "FROM:", "a@b.example", "SIZE=10 BODY=8BITMIME", nil},
		{"FROM:<>", "FROM:", "", "", nil},
		{"FROM: root@localhost", "FROM:", "root@localhost", "", nil},
		{"TO:<postmaster>", "TO:", "postmaster", "", nil},
		{"TO:<@relay.example,@b.example:u@d.example> NOTIFY=NEVER", "TO:", "u@d.example", "NOTIFY=NEVER", nil},
		{`TO:<"john smith"@y.example>`, "TO:", "john smith@y.example", "", nil},
		{`TO:<"a>b"@y.example>`, "TO:", "a>b@y.example", "", nil},
		{`TO:<"a\"b"@y>`, "TO:", `a"b@y`, "", nil},
		{"TO:<a@b@vm.example>", "TO:", "a@b@vm.example", "", nil},
		{"TO:<user%dom@localhost>", "TO:", "user%dom@localhost", "", nil},
		{"TO:<dom!user>", "TO:", "dom!user", "", nil},
		{"TO:<fmaster@[127.0.0.1]>", "TO:", "fmaster@[127.0.0.1]", "", nil},
		{"TO:<jöran@exämple.de>", "TO:", "jöran@exämple.de", "", nil},
		{"TO:<a@b>SIZE=1", "TO:", "a@b", "SIZE=1", nil},
		{"FROM", "FROM:", "", "", ErrSyntax},
		{"FROM:", "FROM:", "", "", ErrSyntax},
		{"FROM:   ", "FROM:", "", "", ErrSyntax},
		{"TO <a@b>", "TO:", "", "", ErrSyntax},
		{"FROM:<<<>>>", "FROM:", "", "", ErrAddress},
		{"FROM:<a@b", "FROM:", "", "", ErrAddress},
		{"TO:<@b.example>", "TO:", "", "", ErrAddress},
		{"TO:<a@>", "TO:", "", "", ErrAddress},
		{"TO:<a b@c>", "TO:", "", "", ErrAddress},
		{"TO:<a(b)@c>", "TO:", "", "", ErrAddress},
		{`TO:<"unterminated@c>`, "TO:", "", "", ErrAddress},
		{"TO:<@a.example>", "TO:", "", "", ErrAddress},
		{"TO:<a\x00b@c>", "TO:", "", "", ErrAddress},
		{"TO:<\"a\x00b\"@c>", "TO:", "", "", ErrAddress},
		{"TO:<a@b\rc>", "TO:", "", "", ErrAddress},
	} {
		addr, params, err := Path(tc.arg, tc.prefix)
		if err != tc.err || err == nil && (addr != tc.addr || strings.Join(params, " ") != tc.params) {
			t.Errorf("Path(%q) = %q, %q, %v; want %q, %q, %v", tc.arg, addr, params, err, tc.addr, tc.params, tc.err)
		}
	}
}

func TestParseMail(t *testing.T) {
	on := Options{SMTPUTF8: true, DSN: true}
	for _, tc := range []struct {
		params string
		o      Options
		want   Mail
		reply  string
	}{
		{"SIZE=10 BODY=8bitmime SMTPUTF8 RET=hdrs ENVID=a+2Bb AUTH=<>", on,
			Mail{Size: 10, Body: "8BITMIME", UTF8: true, Ret: RetHdrs, Envid: "a+b", Auth: "<>"}, ""},
		{"RET=FULL BODY=7BIT", on, Mail{Ret: RetFull, Body: "7BIT"}, ""},
		{"SIZE=x", on, Mail{}, "501 5.5.4 Bad message size syntax"},
		{"SIZE=-1", on, Mail{}, "501 5.5.4 Bad message size syntax"},
		{"SIZE=", on, Mail{}, "501 5.5.4 Bad message size syntax"},
		{"SIZE=99999999999999999999999", on, Mail{}, "552 5.3.4 Message size exceeds file system imposed limit"},
		{"BODY=BINARYMIME", on, Mail{}, "555 5.5.4 Unsupported option: BODY=BINARYMIME"},
		{"FOO=bar", on, Mail{}, "555 5.5.4 Unsupported option: FOO=bar"},
		{"FOO=\x01", on, Mail{}, "555 5.5.4 Unsupported option: FOO=?"},
		{"SMTPUTF8", Options{DSN: true}, Mail{}, "555 5.5.4 Unsupported option: SMTPUTF8"},
		{"RET=FULL", Options{SMTPUTF8: true}, Mail{}, "501 5.7.1 DSN support is disabled"},
		{"RET=FULL RET=FULL", on, Mail{}, "501 5.5.4 Bad RET parameter syntax"},
		{"RET=ALL", on, Mail{}, "501 5.5.4 Bad RET parameter syntax"},
		{"ENVID=a+zz", on, Mail{}, "501 5.5.4 Bad ENVID parameter syntax"},
		{"ENVID=a+0A", on, Mail{}, "501 5.5.4 Bad ENVID parameter syntax"},
		{"ENVID=a ENVID=b", on, Mail{}, "501 5.5.4 Bad ENVID parameter syntax"},
		{"AUTH=a AUTH=b", on, Mail{}, "503 5.5.4 Error: multiple AUTH= options"},
	} {
		m, reply := ParseMail(strings.Fields(tc.params), tc.o)
		if reply != tc.reply || reply == "" && m != tc.want {
			t.Errorf("ParseMail(%q) = %+v, %q; want %+v, %q", tc.params, m, reply, tc.want, tc.reply)
		}
	}
}

func TestParseRcpt(t *testing.T) {
	on := Options{DSN: true}
	for _, tc := range []struct {
		params string
		o      Options
		want   Rcpt
		reply  string
	}{
		{"NOTIFY=SUCCESS,failure,DELAY ORCPT=rfc822;a+40b", on,
			Rcpt{Notify: NotifySuccess | NotifyFailure | NotifyDelay, OrcptType: "rfc822", Orcpt: "a@b"}, ""},
		{"NOTIFY=NEVER", on, Rcpt{Notify: NotifyNever}, ""},
		{"NOTIFY=NEVER,SUCCESS", on, Rcpt{}, "501 5.5.4 Error: Bad NOTIFY parameter syntax"},
		{"NOTIFY=", on, Rcpt{}, "501 5.5.4 Error: Bad NOTIFY parameter syntax"},
		{"NOTIFY=DELAY NOTIFY=DELAY", on, Rcpt{}, "501 5.5.4 Error: Bad NOTIFY parameter syntax"},
		{"ORCPT=a@b", on, Rcpt{}, "501 5.5.4 Error: Bad ORCPT parameter syntax"},
		{"ORCPT=;a@b", on, Rcpt{}, "501 5.5.4 Error: Bad ORCPT parameter syntax"},
		{"ORCPT=rfc822;a+00b", on, Rcpt{}, "501 5.5.4 Error: Bad ORCPT parameter syntax"},
		{"NOTIFY=NEVER", Options{}, Rcpt{}, "501 5.7.1 DSN support is disabled"},
		{"FOO", on, Rcpt{}, "555 5.5.4 Unsupported option: FOO"},
	} {
		r, reply := ParseRcpt(strings.Fields(tc.params), tc.o)
		if reply != tc.reply || reply == "" && r != tc.want {
			t.Errorf("ParseRcpt(%q) = %+v, %q; want %+v, %q", tc.params, r, reply, tc.want, tc.reply)
		}
	}
}

func TestChunkAndSplit(t *testing.T) {
	for arg, want := range map[string][3]any{
		"100": {int64(100), false, true}, "0 LAST": {int64(0), true, true}, "5 last": {int64(5), true, true},
		"": {int64(0), false, false}, "+5": {int64(0), false, false}, "-1": {int64(0), false, false},
		"5 LAST x": {int64(0), false, false}, "5 FIRST": {int64(0), false, false},
		"99999999999999999999": {int64(0), false, false},
	} {
		n, last, ok := Chunk(arg)
		if ok != want[2] || ok && (n != want[0] || last != want[1]) {
			t.Errorf("Chunk(%q) = %d, %v, %v; want %v", arg, n, last, ok, want)
		}
	}
	if v, a := Split("  mail FROM:<a@b>  "); v != "MAIL" || a != "FROM:<a@b>" {
		t.Errorf("Split: %q %q", v, a)
	}
	if d, ok := Xtext("a+2Bb+3dc"); !ok || d != "a+b=c" {
		t.Errorf("Xtext: %q %v", d, ok)
	}
	for _, bad := range []string{"a+", "a+2", "a+zz"} {
		if _, ok := Xtext(bad); ok {
			t.Errorf("Xtext(%q) accepted", bad)
		}
	}
}

// FuzzPath: the address and parameter parsers take any input without panicking, and an
// address they accept holds no line end, NUL or DEL.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"FROM:<a@b> SIZE=1", "TO:<\"x y\"@z> NOTIFY=NEVER", "TO:<@a,@b:c@d>", "FROM:<<<>>>",
		"TO:<\"\\", "FROM: a@b RET=FULL ENVID=x+41", "TO:<a> ORCPT=rfc822;x+2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		for _, prefix := range []string{"FROM:", "TO:"} {
			addr, params, err := Path(arg, prefix)
			if err != nil {
				continue
			}
			if strings.ContainsAny(addr, "\r\n\x00\x7f") {
				t.Errorf("Path(%q) = %q", arg, addr)
			}
			ParseMail(params, Options{SMTPUTF8: true, DSN: true})
			ParseRcpt(params, Options{DSN: true})
		}
		Chunk(arg)
	})
}

// TestArgs: MAIL's and RCPT's whole argument, with Postfix's replies.
func TestArgs(t *testing.T) {
	o := Options{DSN: true}
	for _, tc := range []struct{ arg, addr, reply string }{
		{"FROM:<a@b> RET=FULL", "a@b", ""},
		{"FROM:<>", "", ""},
		{"FROM", "", "501 5.5.4 Syntax: MAIL FROM:<address>"},
		{"FROM:<a@>", "", "501 5.1.7 Bad sender address syntax"},
		{"FROM:<a@b> X=1", "a@b", "555 5.5.4 Unsupported option: X=1"},
	} {
		from, _, reply := MailArg(tc.arg, o)
		if from != tc.addr || reply != tc.reply {
			t.Errorf("MailArg(%q) = %q, %q; want %q, %q", tc.arg, from, reply, tc.addr, tc.reply)
		}
	}
	for _, tc := range []struct{ arg, addr, reply string }{
		{"TO: postmaster NOTIFY=NEVER", "postmaster", ""},
		{"TO:", "", "501 5.5.4 Syntax: RCPT TO:<address>"},
		{"TO:<>", "", "501 5.1.3 Bad recipient address syntax"},
		{"TO:<a@b> NOTIFY=x", "a@b", "501 5.5.4 Error: Bad NOTIFY parameter syntax"},
	} {
		to, _, reply := RcptArg(tc.arg, o)
		if to != tc.addr || reply != tc.reply {
			t.Errorf("RcptArg(%q) = %q, %q; want %q, %q", tc.arg, to, reply, tc.addr, tc.reply)
		}
	}
}
