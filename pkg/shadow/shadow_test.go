package shadow

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-crypt/crypt/algorithm/argon2"
	"github.com/go-crypt/crypt/algorithm/bcrypt"
	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"github.com/go-crypt/x/yescrypt"
)

// yescryptHash makes a libxcrypt-shaped $y$ hash at Debian's default cost.
func yescryptHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := yescrypt.Hash([]byte(pw), append([]byte("$y$j9T$"), yescrypt.Encode64([]byte("0123456789abcdef"))...))
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestCheckGenerated(t *testing.T) {
	const pw = "pässword 1"
	sha512, _ := shacrypt.NewSHA512()
	sha256, _ := shacrypt.NewSHA256()
	md5, _ := md5crypt.New()
	blf, _ := bcrypt.New(bcrypt.WithCost(10))
	argon, _ := argon2.New(argon2.WithVariantID(), argon2.WithMemoryInKiB(8192), argon2.WithT(1))
	hashes := map[string]string{"yescrypt": yescryptHash(t, pw)}
	d1, _ := sha512.Hash(pw)
	d2, _ := sha256.Hash(pw)
	d3, _ := md5.Hash(pw)
	d4, _ := blf.Hash(pw)
	d5, _ := argon.Hash(pw)
	hashes["sha512"], hashes["sha256"], hashes["md5"], hashes["bcrypt"], hashes["argon2id"] =
		d1.Encode(), d2.Encode(), d3.Encode(), d4.Encode(), d5.Encode()
	prefixes := map[string]string{"yescrypt": "$y$", "sha512": "$6$", "sha256": "$5$", "md5": "$1$", "bcrypt": "$2", "argon2id": "$argon2id$"}
	for name, h := range hashes {
		if !strings.HasPrefix(h, prefixes[name]) {
			t.Errorf("%s: unexpected hash shape %q", name, h)
		}
		if !Check(pw, h) {
			t.Errorf("%s: right password refused (%s)", name, h)
		}
		if Check("pässword 2", h) || Check("", h) {
			t.Errorf("%s: wrong password accepted", name)
		}
	}
}

func TestCheckKnownVectors(t *testing.T) {
	// Produced by openssl passwd -5/-6/-1 and OpenBSD bcrypt.
	cases := []struct{ pw, hash string }{
		{"Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
		{"Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"password", "$1$saltstri$qQY4WxjABChYG1ccLpfkz/"},
		{"", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy"},
	}
	for _, c := range cases {
		if !Check(c.pw, c.hash) {
			t.Errorf("%q does not match %s", c.pw, c.hash)
		}
		if Check(c.pw+"x", c.hash) {
			t.Errorf("%q+x matches %s", c.pw, c.hash)
		}
	}
}

func TestCheckRefusesJunk(t *testing.T) {
	for _, h := range []string{"", "!", "*", "!$6$x$y", "*LK*", "abJnggxhB/yWI", "$y$", "$y$j9T$", "$6$", "$9$x$y", "x", "$argon2id$v=19$"} {
		if Check("", h) || Check("x", h) {
			t.Errorf("junk hash %q matched", h)
		}
	}
	if CheckDummy("x") {
		t.Error("CheckDummy returned true")
	}
	if !Check("x", dummyHash) {
		t.Error("dummyHash is not a valid yescrypt hash (timing equaliser broken)")
	}
}

func TestCheckScheme(t *testing.T) {
	sha512, _ := shacrypt.NewSHA512()
	d, _ := sha512.Hash("secret")
	blf, _ := bcrypt.New(bcrypt.WithCost(10))
	b, _ := blf.Hash("secret")
	argon, _ := argon2.New(argon2.WithVariantID(), argon2.WithMemoryInKiB(8192), argon2.WithT(1))
	a, _ := argon.Hash("secret")
	good := []string{"{PLAIN}secret", "{plain}secret", "{CLEARTEXT}secret", "{SHA512-CRYPT}" + d.Encode(),
		"{CRYPT}" + d.Encode(), d.Encode(), "{BLF-CRYPT}" + b.Encode(), "{ARGON2ID}" + a.Encode(),
		"{CRYPT}" + yescryptHash(t, "secret")}
	for _, s := range good {
		if !CheckScheme("secret", s) {
			t.Errorf("%s: refused", s)
		}
		if CheckScheme("secreT", s) {
			t.Errorf("%s: wrong password accepted", s)
		}
	}
	bad := []string{"{PLAIN}", "{MD5-CRYPT}" + d.Encode(), "{SHA256-CRYPT}" + d.Encode(), "{UNKNOWN}secret", "{PLAIN", "secret"}
	for _, s := range bad {
		if CheckScheme("secret", s) {
			t.Errorf("%s: accepted", s)
		}
	}
}

func TestRefusal(t *testing.T) {
	now := time.Unix(20000*86400+100, 0)
	cases := map[string]string{
		"u:$6$x$y:19000:0:99999:7:::":      "",
		"u:!$6$x$y:19000:0:99999:7:::":     "account locked",
		"u:*:19000:0:99999:7:::":           "account locked",
		"u::19000:0:99999:7:::":            "no password",
		"u:$6$x$y:19000:0:99999:7::19999:": "account expired",
		"u:$6$x$y:19000:0:99999:7::20001:": "",
		"u:$6$x$y:0:0:99999:7:::":          "password change required",
		"u:$6$x$y:19000:0:90:7:30::":       "password expired",
		"u:$6$x$y:::::::":                  "",
		"u:$6$x$y":                         "",
	}
	for line, want := range cases {
		e, ok := Parse(line)
		if !ok {
			t.Fatalf("parse %q failed", line)
		}
		if got := e.Refusal(now); got != want {
			t.Errorf("%q: Refusal = %q, want %q", line, got, want)
		}
	}
}

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	File = filepath.Join(dir, "shadow")
	defer func() { File = "/etc/shadow" }()
	os.WriteFile(File, []byte("root:*:19000:0:99999:7:::\nfm:$6$a$b:19000::::::\nfmaster:$6$c$d:19000::::::\n"), 0600)
	e, err := Lookup("fmaster")
	if err != nil || e.Hash != "$6$c$d" {
		t.Fatalf("Lookup = %+v, %v", e, err)
	}
	if _, err := Lookup("nobody"); err != ErrNotFound {
		t.Fatalf("unknown user: %v", err)
	}
}

// TestSystemShadow creates a real account with useradd + chpasswd and checks
// the hash the system wrote (root only).
func TestSystemShadow(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("chpasswd"); err != nil {
		t.Skip("no chpasswd")
	}
	for _, method := range []string{"", "YESCRYPT", "SHA512", "SHA256", "MD5"} {
		t.Run("method="+method, func(t *testing.T) {
			name := "pts" + strings.ToLower(method) + strings.TrimPrefix(filepath.Base(t.TempDir()), "00")
			if len(name) > 30 {
				name = name[:30]
			}
			if out, err := exec.Command("useradd", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
				t.Skipf("useradd: %v %s", err, out)
			}
			defer exec.Command("userdel", "-f", name).Run()
			args := []string{}
			if method != "" {
				args = append(args, "-c", method)
			}
			cmd := exec.Command("chpasswd", args...)
			cmd.Stdin = strings.NewReader(name + ":password\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Skipf("chpasswd %v: %v %s", args, err, out)
			}
			e, err := Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s", method, e.Hash[:4])
			if r := e.Refusal(time.Now()); r != "" {
				t.Fatalf("fresh account refused: %s", r)
			}
			if !Check("password", e.Hash) {
				t.Fatalf("system hash %q does not verify", e.Hash)
			}
			if Check("Password", e.Hash) {
				t.Fatal("wrong password accepted")
			}
			exec.Command("usermod", "-L", name).Run()
			if e, _ := Lookup(name); e.Refusal(time.Now()) != "account locked" {
				t.Fatalf("usermod -L not seen as locked: %q", e.Hash)
			}
		})
	}
}
