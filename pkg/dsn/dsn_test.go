package dsn

import "testing"

func TestStatus(t *testing.T) {
	if s := Sent("2.0.0", "delivered to %s", "maildir"); !s.OK() || s.Word() != "sent" || s.Text != "delivered to maildir" {
		t.Fatalf("%+v", s)
	}
	if s := Defer("4.2.0", "x"); !s.Temporary() || s.Word() != "deferred" {
		t.Fatalf("%+v", s)
	}
	if s := Bounce("5.1.1", "unknown user: %q", "bob"); s.Temporary() || s.Word() != "bounced" || s.Text != `unknown user: "bob"` {
		t.Fatalf("%+v", s)
	}
	if s, ok := Sysexits(75); !ok || !s.Temporary() {
		t.Fatal("EX_TEMPFAIL must defer")
	}
	if s, _ := Sysexits(67); s.Code != "5.1.1" {
		t.Fatal(s)
	}
}

func TestSoftBounce(t *testing.T) {
	s := Bounce("5.1.1", "unknown user").SoftBounce()
	if s.Code != "4.1.1" || !s.Temporary() || s.Word() != "SOFTBOUNCE" || s.Text != "unknown user" {
		t.Fatalf("%+v", s)
	}
	if s.SoftBounce() != s {
		t.Fatal("not idempotent")
	}
	for _, st := range []Status{Sent("2.0.0", "ok"), Defer("4.2.0", "busy")} {
		if st.SoftBounce() != st {
			t.Fatalf("%+v changed", st)
		}
	}
}
