package config

import (
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"a = b\n", "a = $b\nb = $a\n", "a = ${b?{$c}:{d}}\n  more\n# c\n", "x\n", "  lead = 1\n",
		"a = ${{$compatibility_level} <level {2} ? {x} : {y}}\r\n", "a = $(b\n", "a = ${{{{\n",
		"myhostname = $mydomain\nmydomain = $myhostname\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse(strings.NewReader(text))
		if err != nil {
			return
		}
		for _, n := range c.SetNames() {
			_ = c.Get(n)
			_ = c.List(n)
			_ = c.Duration(n)
		}
		_ = c.Get("myhostname")
		_ = c.Get("mydestination")
	})
}

func FuzzParseMaster(f *testing.F) {
	for _, s := range []string{
		debianMaster, "a unix - - - - - b\n", "a inet n - - 1? 0 b -o { x = y }\n", "a unix - - - - - b -o\n",
		"a unix - - - - - b { \n", "a unix - - - - - b -o {x=}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		svcs, err := ParseMaster(strings.NewReader(text), nil)
		if err != nil {
			return
		}
		for _, s := range svcs {
			_ = FormatService(s)
			if s.Name == "" || s.Command == "" {
				t.Fatalf("empty name or command: %+v", s)
			}
		}
	})
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{
		"$a", "${a?{$b}:{c}}", "${{$a} == {$b} ? {x} : {y}}", "$$", "${a", "$(a)", "${{1} <level {2} ? {a}}",
		"${a:{${b?{${c}}}}}", "${{${{$a}=={b}?{c}}} != {} ? {$a$a$a} : {}}",
	} {
		f.Add(s, "$b$b", "${a}")
	}
	f.Fuzz(func(t *testing.T, value, a, b string) {
		vars := map[string]string{"a": a, "b": b, "c": value}
		lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
		out := ExpandRecursive(value, lookup)
		if len(out) > maxExpandWork {
			t.Fatalf("output too long: %d", len(out))
		}
		_ = Expand(value, lookup)
	})
}
