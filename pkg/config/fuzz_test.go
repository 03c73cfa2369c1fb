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
			if s.Name == "" || s.Command == "" {
				t.Fatalf("empty name or command: %+v", s)
			}
		}
	})
}

// FuzzMasterEntries: postconf's view of master.cf and its edits never panic, and a file
// that parses still parses after an edit.
func FuzzMasterEntries(f *testing.F) {
	for _, s := range []string{
		debianMaster, "a unix - - - - - b\n", "a unix - - - - - b -voc=d -o\n # x\n -o {y = z}\n", "a unix - - - - - b { \n",
	} {
		f.Add(s, "a/unix/c=d")
	}
	f.Fuzz(func(t *testing.T, text, arg string) {
		entries, err := ParseMasterEntries(strings.NewReader(text))
		if err != nil {
			return
		}
		for _, e := range entries {
			for _, fold := range []bool{false, true} {
				_ = e.Format(fold)
				for fl := range MasterFieldNames {
					_ = e.FormatField(fl, false, false, fold)
				}
			}
			_ = e.Params()
		}
		for _, kind := range []byte{EditEntries, EditFields, EditParams} {
			for _, op := range []byte{EditSet, EditRemove, EditComment} {
				out, _, err := EditMaster([]byte(text), kind, op, []string{arg})
				if err != nil {
					continue
				}
				if _, err := ParseMasterEntries(strings.NewReader(string(out))); err != nil && kind != EditEntries {
					t.Fatalf("%c%c %q: result does not parse: %v\n%s", kind, op, arg, err, out)
				}
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
