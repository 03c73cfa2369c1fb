package addr

import "testing"

func TestSplit(t *testing.T) {
	if l, d := Split(`"x@y"@z`); l != `"x@y"` || d != "z" {
		t.Fatal(l, d)
	}
	if u, e := Extension("bob+lists", "+-"); u != "bob" || e != "lists" {
		t.Fatal(u, e)
	}
	if u, e := Extension("+x", "+"); u != "+x" || e != "" {
		t.Fatal(u, e)
	}
}
