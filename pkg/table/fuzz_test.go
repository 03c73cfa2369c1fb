package table

import (
	"strings"
	"testing"
)

func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"a b\n", "multi a,\n  b\n#c\n", "\"q k\" v\n", "\"unterminated v\n", " lead x\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseSource(strings.NewReader(s), "f", func(e Entry) error {
			if e.Key == "" || e.Value == "" || e.Line < 1 {
				t.Fatalf("bad entry %+v", e)
			}
			return nil
		}, func(string) {})
	})
}

func FuzzParseRegexp(f *testing.F) {
	for _, s := range []string{"/^(.*)@x$/ $1\n", "if /a/\n!/b/ c\nendif\n", "/[[:alpha:]]+/i x ${1}\n", "/\\/x/ y\n", "#/a/ b\n"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, pcre bool) {
		tb, err := ParseRegexp(strings.NewReader(s), "f", pcre, false, func(string) {})
		if err != nil {
			return
		}
		for _, k := range []string{"", "a", "user@example.com", s} {
			tb.Lookup(k)
		}
	})
}

func FuzzParseCIDR(f *testing.F) {
	f.Add("10.0.0.0/8 x\nif !::/0\n1.2.3.4 y\nendif\n")
	f.Fuzz(func(t *testing.T, s string) {
		tb, err := ParseCIDR(strings.NewReader(s), "f", func(string) {})
		if err == nil {
			tb.Lookup("10.1.2.3")
			tb.Lookup("::1")
		}
	})
}
