package install

import (
	"bufio"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// file is one expected path of the installed tree.
type file struct {
	path  string
	mode  fs.FileMode // type and permission bits, set-gid and sticky included
	owner string      // "user:group", checked when the ids exist and we are root
}

var tree = []file{
	{"/usr/sbin/sendmail", 0755, "root:root"},
	{"/usr/sbin/postfix", 0755, "root:root"},
	{"/usr/sbin/postmap", 0755, "root:root"},
	{"/usr/sbin/postalias", 0755, "root:root"},
	{"/usr/sbin/postconf", 0755, "root:root"},
	{"/usr/sbin/postsuper", 0755, "root:root"},
	{"/usr/sbin/postmulti", 0755, "root:root"},
	{"/usr/sbin/postcat", 0755, "root:root"},
	{"/usr/sbin/postdrop", 0755 | fs.ModeSetgid, "root:postdrop"},
	{"/usr/sbin/postqueue", 0755 | fs.ModeSetgid, "root:postdrop"},
	{"/usr/bin/newaliases", fs.ModeSymlink, ""},
	{"/usr/bin/mailq", fs.ModeSymlink, ""},
	{"/usr/lib/sendmail", fs.ModeSymlink, ""},
	{"/usr/lib/postfix/sbin/master", 0755, "root:root"},
	{"/usr/lib/postfix/sbin/smtpd", 0755, "root:root"},
	{"/usr/lib/postfix/sbin/local", 0755, "root:root"},
	{"/usr/lib/postfix/sbin/qmgr", 0755, "root:root"},
	{"/usr/lib/postfix/sbin/cleanup", 0755, "root:root"},
	{"/usr/lib/postfix/sbin/pickup", 0755, "root:root"},
	{"/usr/lib/postfix/sbin/showq", 0755, "root:root"},
	{"/usr/lib/postfix/sbin/postlogd", 0755, "root:root"},
	{"/var/spool/postfix", fs.ModeDir | 0755, "root:root"},
	{"/var/spool/postfix/maildrop", fs.ModeDir | fs.ModeSticky | 0730, "postfix:postdrop"},
	{"/var/spool/postfix/public", fs.ModeDir | fs.ModeSetgid | 0710, "postfix:postdrop"},
	{"/var/spool/postfix/private", fs.ModeDir | 0700, "postfix:root"},
	{"/var/spool/postfix/incoming", fs.ModeDir | 0700, "postfix:root"},
	{"/var/spool/postfix/active", fs.ModeDir | 0700, "postfix:root"},
	{"/var/spool/postfix/deferred", fs.ModeDir | 0700, "postfix:root"},
	{"/var/spool/postfix/hold", fs.ModeDir | 0700, "postfix:root"},
	{"/var/spool/postfix/corrupt", fs.ModeDir | 0700, "postfix:root"},
	{"/var/spool/postfix/bounce", fs.ModeDir | 0700, "postfix:root"},
	{"/var/spool/postfix/defer", fs.ModeDir | 0700, "postfix:root"},
	{"/var/spool/postfix/trace", fs.ModeDir | 0700, "postfix:root"},
	{"/var/spool/postfix/flush", fs.ModeDir | 0700, "postfix:root"},
	{"/var/spool/postfix/saved", fs.ModeDir | 0700, "postfix:root"},
	{"/var/spool/postfix/pid", fs.ModeDir | 0755, "root:root"},
	{"/var/lib/postfix", fs.ModeDir | 0700, "postfix:"},
	{"/etc/postfix/main.cf", 0644, ""},
	{"/etc/postfix/master.cf", 0644, ""},
	{"/usr/share/postern/main.cf.dist", 0644, ""},
	{"/usr/share/postern/master.cf.dist", 0644, ""},
	{"/etc/systemd/system/postern.service", 0644, ""},
	{"/etc/init.d/postfix", 0755, ""},
	{"/var/lib/postern/manifest", 0600, ""},
}

var repo string

func root(t *testing.T) string {
	t.Helper()
	if repo == "" {
		r, err := testenv.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		repo = r
	}
	return repo
}

// mk runs make in the repository with the given arguments.
func mk(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-s", "-C", root(t)}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkTree compares the installed tree under dest with tree.
func checkTree(t *testing.T, dest string) {
	t.Helper()
	amRoot := os.Geteuid() == 0
	for _, f := range tree {
		fi, err := os.Lstat(dest + f.path)
		if err != nil {
			t.Errorf("missing: %v", err)
			continue
		}
		got := fi.Mode() & (fs.ModeType | fs.ModePerm | fs.ModeSetgid | fs.ModeSticky)
		if f.mode&fs.ModeSymlink != 0 {
			if got&fs.ModeSymlink == 0 {
				t.Errorf("%s: not a symbolic link (%v)", f.path, got)
			} else if l, _ := os.Readlink(dest + f.path); l != "../sbin/sendmail" {
				t.Errorf("%s -> %s, want ../sbin/sendmail", f.path, l)
			}
			continue
		}
		if got != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, got, f.mode)
		}
		if !amRoot || f.owner == "" {
			continue
		}
		u, g, _ := strings.Cut(f.owner, ":")
		st := fi.Sys().(*syscall.Stat_t)
		if id, ok := lookupUser(u); ok && st.Uid != id {
			t.Errorf("%s: owner uid %d, want %s", f.path, st.Uid, u)
		}
		if g == "" {
			continue
		}
		if id, ok := lookupGroup(g); ok && st.Gid != id {
			t.Errorf("%s: group gid %d, want %s", f.path, st.Gid, g)
		}
	}
}

func lookupUser(name string) (uint32, bool) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, false
	}
	var id uint32
	fmt.Sscan(u.Uid, &id)
	return id, true
}

func lookupGroup(name string) (uint32, bool) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, false
	}
	var id uint32
	fmt.Sscan(g.Gid, &id)
	return id, true
}

// manifest reads the install manifest: each line's type and path.
func manifest(t *testing.T, path string) [][2]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) < 2 {
			t.Errorf("manifest line %q", sc.Text())
			continue
		}
		out = append(out, [2]string{w[0], w[1]})
	}
	return out
}

// listing is every path below dir with its type, mode, size and link
// target: what must be the same before install and after uninstall.
func listing(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, d := range dirs {
		filepath.Walk(d, func(p string, fi fs.FileInfo, err error) error {
			if err != nil {
				return nil
			}
			v := fi.Mode().String()
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				l, _ := os.Readlink(p)
				v += " -> " + l
			case fi.Mode().IsRegular():
				v += fmt.Sprintf(" %d", fi.Size())
			}
			m[p] = v
			return nil
		})
	}
	return m
}

func diffListings(t *testing.T, before, after map[string]string) {
	t.Helper()
	var diffs []string
	for p, v := range after {
		if w, ok := before[p]; !ok {
			diffs = append(diffs, "left behind: "+p+" "+v)
		} else if w != v {
			diffs = append(diffs, "changed: "+p+" "+w+" -> "+v)
		}
	}
	for p, v := range before {
		if _, ok := after[p]; !ok {
			diffs = append(diffs, "gone: "+p+" "+v)
		}
	}
	sort.Strings(diffs)
	for _, d := range diffs {
		t.Error(d)
	}
}

// TestInstallDestdir installs into a scratch root that does not exist yet,
// twice, checks the tree, uninstalls, and expects an empty root again; then the same over a
// Debian-like root with a master.cf and a sendmail of its own.
func TestInstallDestdir(t *testing.T) {
	// A DESTDIR whose parents do not exist yet (issue 9: mkd recursed on "/").
	dest := filepath.Join(t.TempDir(), "missing", "parents", "root")
	out := mk(t, "install", "DESTDIR="+dest)
	if !strings.Contains(out, "wrote /etc/postfix/main.cf") {
		t.Errorf("make install output: %s", out)
	}
	checkTree(t, dest)
	m := manifest(t, dest+"/var/lib/postern/manifest")
	seen := map[string]bool{}
	for _, e := range m {
		seen[e[1]] = true
		if e[0] == "u" || e[0] == "g" {
			t.Errorf("DESTDIR install created a user or group: %v", e)
		}
	}
	for _, f := range tree {
		if !seen[f.path] && f.path != "/var/lib/postern/manifest" {
			t.Errorf("%s not in the manifest", f.path)
		}
	}
	for _, l := range []string{"auth      unix  -       n       n", "pop3      inet  n       n       n", "imap      inet  n       n       n"} {
		if b, _ := os.ReadFile(dest + "/etc/postfix/master.cf"); !strings.Contains(string(b), l) {
			t.Errorf("master.cf lacks %q", l)
		}
	}

	// A second install changes nothing in the manifest.
	mk(t, "install", "DESTDIR="+dest)
	if m2 := manifest(t, dest+"/var/lib/postern/manifest"); len(m2) != len(m) {
		t.Errorf("second install: manifest has %d lines, had %d", len(m2), len(m))
	}
	checkTree(t, dest)

	mk(t, "uninstall", "DESTDIR="+dest)
	if left := listing(t, dest); len(left) != 1 {
		delete(left, dest)
		t.Errorf("left after uninstall: %v", left)
	}

	t.Run("existing data_directory", func(t *testing.T) {
		// Debian's postfix package ships /var/lib/postfix 0755: install
		// leaves it so (uninstall could not restore another mode).
		dest := t.TempDir()
		os.MkdirAll(dest+"/var/lib/postfix", 0755)
		os.Chmod(dest+"/var/lib/postfix", 0755)
		before := listing(t, dest)
		mk(t, "install", "DESTDIR="+dest)
		if fi, err := os.Stat(dest + "/var/lib/postfix"); err != nil || fi.Mode().Perm() != 0755 {
			t.Errorf("install changed an existing /var/lib/postfix: %v %v", fi.Mode(), err)
		}
		mk(t, "uninstall", "DESTDIR="+dest)
		diffListings(t, before, listing(t, dest))
	})

	t.Run("existing", func(t *testing.T) {
		dest := t.TempDir()
		debianMaster := "smtp      inet  n       -       y       -       -       smtpd\n" +
			"pickup    unix  n       -       y       60      1       pickup\n" +
			"pop3      inet  n       -       n       -       -       pop3d\n"
		files := map[string]string{
			"/etc/postfix/main.cf":   "myhostname = mail.example\n",
			"/etc/postfix/master.cf": debianMaster,
			"/usr/sbin/sendmail":     "#!/bin/sh\n# another MTA's\n",
		}
		for p, s := range files {
			os.MkdirAll(filepath.Dir(dest+p), 0755)
			mode := fs.FileMode(0644)
			if strings.HasPrefix(p, "/usr/sbin/") {
				mode = 0755
			}
			os.WriteFile(dest+p, []byte(s), mode)
		}
		before := listing(t, dest)
		mk(t, "install", "DESTDIR="+dest)
		checkTree(t, dest)
		if b, _ := os.ReadFile(dest + "/etc/postfix/main.cf"); string(b) != files["/etc/postfix/main.cf"] {
			t.Errorf("existing main.cf was changed: %q", b)
		}
		b, _ := os.ReadFile(dest + "/etc/postfix/master.cf")
		if !strings.HasPrefix(string(b), debianMaster) {
			t.Errorf("existing master.cf lines changed:\n%s", b)
		}
		added := string(b[len(debianMaster):])
		if !strings.Contains(added, "\nauth      unix  -       n       n       -       -       authd\n") ||
			!strings.Contains(added, "\nimap      inet  n       n       n       -       -       imapd\n") ||
			!strings.Contains(added, "\npop3s     inet  n       n       n       -       -       pop3d\n  -o pop3d_tls_wrappermode=yes\n") ||
			!strings.Contains(added, "\nimaps     inet  n       n       n       -       -       imapd\n  -o imapd_tls_wrappermode=yes\n") {
			t.Errorf("auth, imap, pop3s and imaps not added:\n%s", added)
		}
		if strings.Contains(added, "\npop3      inet") {
			t.Errorf("pop3 added although master.cf has it:\n%s", added)
		}
		if b, _ := os.ReadFile(dest + "/var/lib/postern/saved/usr/sbin/sendmail"); string(b) != files["/usr/sbin/sendmail"] {
			t.Errorf("the previous sendmail was not saved: %q", b)
		}
		mk(t, "uninstall", "DESTDIR="+dest)
		diffListings(t, before, listing(t, dest))
		for p, s := range files {
			if b, _ := os.ReadFile(dest + p); string(b) != s {
				t.Errorf("%s after uninstall: %q, want %q", p, b, s)
			}
		}
	})
}

// systemPaths are where an install writes on the real root.
var systemPaths = []string{
	"/usr/sbin", "/usr/bin", "/usr/lib/sendmail", "/usr/lib/postfix", "/etc/postfix",
	"/etc/init.d", "/etc/systemd/system", "/var/spool/postfix", "/var/lib/postfix",
	"/var/lib/postern", "/usr/share/postern", "/etc/aliases.db",
}

// TestInstallRoot installs into the real root, runs the howto's first
// telnet session on port 25 and uninstalls. It runs only where that is
// wanted and safe: as root with CI=true, no mail system installed and ports
// 25, 110, 143, 993 and 995 free on loopback.
func TestInstallRoot(t *testing.T) {
	if os.Getenv("CI") != "true" || os.Geteuid() != 0 {
		t.Skip("installs into / : only as root with CI=true")
	}
	for _, p := range []string{"/usr/sbin/postfix", "/etc/postfix/main.cf", "/var/lib/postern/manifest", "/usr/lib/postfix/sbin/master"} {
		if _, err := os.Lstat(p); err == nil {
			t.Skipf("%s exists: a mail system is installed here; not touching it", p)
		}
	}
	for _, port := range []string{"25", "110", "143", "993", "995"} {
		l, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Skipf("port %s is busy: %v", port, err)
		}
		l.Close()
	}
	before := listing(t, systemPaths...)

	uninstalled := false
	mainCF := ""
	t.Cleanup(func() {
		if uninstalled {
			return
		}
		exec.Command("/usr/sbin/postfix", "stop").Run()
		if mainCF != "" {
			os.WriteFile("/etc/postfix/main.cf", []byte(mainCF), 0644)
		}
		out, err := exec.Command("make", "-s", "-C", root(t), "uninstall").CombinedOutput()
		if err != nil {
			t.Errorf("cleanup: make uninstall: %v\n%s", err, out)
		}
	})
	mk(t, "install")
	checkTree(t, "")
	m := manifest(t, "/var/lib/postern/manifest")

	// Listen on loopback only; the change is undone before uninstall so
	// that main.cf is still the one install wrote.
	b, err := os.ReadFile("/etc/postfix/main.cf")
	if err != nil {
		t.Fatal(err)
	}
	mainCF = string(b)
	os.WriteFile("/etc/postfix/main.cf", []byte(mainCF+"inet_interfaces = loopback-only\n"), 0644)

	if out, err := exec.Command("/usr/sbin/postfix", "check").CombinedOutput(); err != nil || strings.Contains(string(out), "warning") {
		t.Errorf("postfix check after install: %v\n%s", err, out)
	}

	name, _, _ := testenv.User(t)
	if out, err := exec.Command("/etc/init.d/postfix", "start").CombinedOutput(); err != nil {
		t.Fatalf("/etc/init.d/postfix start: %v\n%s", err, out)
	}
	// The howto's session, with the DATA it forgets to type.
	var c *testenv.Conn
	for i := 0; ; i++ {
		if nc, err := net.DialTimeout("tcp", "127.0.0.1:25", time.Second); err == nil {
			nc.Close()
			break
		} else if i == 50 {
			t.Fatalf("nothing listens on 127.0.0.1:25: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c = testenv.Dial(t, "127.0.0.1:25")
	if got := c.Expect(220); !strings.HasPrefix(got, "220 localhost.localdomain ESMTP") {
		t.Errorf("banner %q", got)
	}
	c.Cmd("ehlo localhost", 250)
	c.Cmd("mail from: root@localhost", 250)
	c.Cmd("rcpt to: "+name+"@localhost", 250)
	c.Cmd("data", 354)
	c.Send("Subjet: My first mail on Postfix")
	c.Send("Are you there?")
	c.Cmd(".", 250)
	c.Cmd("quit", 221)

	spool := "/var/mail/" + name
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(spool)
		if strings.Contains(string(b), "Are you there?") {
			if !strings.HasPrefix(string(b), "From root@localhost ") {
				t.Errorf("%s starts %q", spool, strings.SplitN(string(b), "\n", 2)[0])
			}
			break
		}
		if time.Now().After(deadline) {
			q, _ := exec.Command("/usr/sbin/postqueue", "-p").CombinedOutput()
			t.Fatalf("no mail in %s after 30s; queue:\n%s", spool, q)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, err := exec.Command("/etc/init.d/postfix", "status").CombinedOutput(); err != nil {
		t.Errorf("/etc/init.d/postfix status: %v %s", err, out)
	}
	if out, err := exec.Command("/usr/sbin/postfix", "stop").CombinedOutput(); err != nil {
		t.Errorf("postfix stop: %v\n%s", err, out)
	}
	// userdel -r removes the spool file; the test user goes now so that the
	// comparison below sees the system as it was.
	os.Remove(spool)

	os.WriteFile("/etc/postfix/main.cf", []byte(mainCF), 0644)
	mk(t, "uninstall")
	uninstalled = true
	for _, e := range m {
		if e[0] == "s" || e[0] == "u" || e[0] == "g" {
			continue
		}
		if _, err := os.Lstat(e[1]); err == nil && before[e[1]] == "" {
			t.Errorf("left behind: %s (%s)", e[1], e[0])
		}
	}
	diffListings(t, before, listing(t, systemPaths...))
}

// bdb writes path in Berkeley DB format (type hash or btree) with db_load,
// as Postfix's postmap does: keys and values end in a NUL byte.
func bdb(t *testing.T, path, typ string, kv ...string) []byte {
	t.Helper()
	load, err := exec.LookPath("db_load")
	if err != nil {
		if load, err = exec.LookPath("db5.3_load"); err != nil {
			t.Skip("no db_load (Debian's db-util) to make Berkeley DB files")
		}
	}
	var in strings.Builder
	for _, s := range kv {
		in.WriteString(strings.ReplaceAll(s, `\`, `\\`) + `\00` + "\n")
	}
	cmd := exec.Command(load, "-T", "-t", typ, path)
	cmd.Stdin = strings.NewReader(in.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("db_load %s: %v\n%s", path, err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestInstallMigratesTables installs over a Postfix configuration whose
// hash: and btree: tables (named in main.cf, in a restriction and in a
// master.cf -o option) are Berkeley DB files: each is rebuilt in Postern's
// format from its source and answers postmap -q/postalias -q; a table
// without a .db is built; a Berkeley DB file without a source is left
// alone and named. Uninstall puts every Postfix file back byte for byte
// and removes what Postern built.
func TestInstallMigratesTables(t *testing.T) {
	dest := t.TempDir()
	texts := map[string]string{
		"/etc/postfix/main.cf": "alias_maps = hash:/etc/aliases\n" +
			"alias_database = hash:/etc/aliases\n" +
			"virtual_alias_domains = example.com\n" +
			"virtual_alias_maps = hash:$config_directory/virtual\n" +
			"transport_maps = btree:/etc/postfix/transport\n" +
			"canonical_maps = hash:/etc/postfix/canonical\n" +
			"smtp_tls_session_cache_database = btree:/var/lib/postfix/smtp_scache\n" +
			"smtpd_recipient_restrictions = check_recipient_access hash:/etc/postfix/access,\n" +
			"    permit_mynetworks, reject_unauth_destination\n",
		"/etc/postfix/master.cf": "smtp      inet  n       -       y       -       -       smtpd\n" +
			"submission inet n       -       y       -       -       smtpd\n" +
			"  -o smtpd_sender_login_maps=hash:/etc/postfix/sender_login\n",
		"/etc/aliases":              "postmaster: root\nteam: alice, bob\n",
		"/etc/postfix/virtual":      "info@example.com alice\n",
		"/etc/postfix/transport":    "example.net smtp:[relay.example.net]\n",
		"/etc/postfix/access":       "spam@example.org REJECT\n",
		"/etc/postfix/sender_login": "alice@example.com alice\n",
	}
	for p, s := range texts {
		os.MkdirAll(filepath.Dir(dest+p), 0755)
		if err := os.WriteFile(dest+p, []byte(s), 0644); err != nil {
			t.Fatal(err)
		}
	}
	// Postfix's files: what uninstall must put back byte for byte.
	postfixDB := map[string][]byte{
		"/etc/aliases.db":           bdb(t, dest+"/etc/aliases.db", "hash", "postmaster", "root", "team", "alice,bob", "@", "@"),
		"/etc/postfix/virtual.db":   bdb(t, dest+"/etc/postfix/virtual.db", "hash", "info@example.com", "alice"),
		"/etc/postfix/transport.db": bdb(t, dest+"/etc/postfix/transport.db", "btree", "example.net", "smtp:[relay.example.net]"),
		"/etc/postfix/access.db":    bdb(t, dest+"/etc/postfix/access.db", "hash", "spam@example.org", "REJECT"),
		"/etc/postfix/canonical.db": bdb(t, dest+"/etc/postfix/canonical.db", "hash", "old@example.com", "new@example.com"),
	}
	// A cache Postfix's smtp wrote: not a table, left alone and not named.
	os.MkdirAll(dest+"/var/lib/postfix", 0755)
	scache := bdb(t, dest+"/var/lib/postfix/smtp_scache.db", "btree", "session", "x")
	before := listing(t, dest)

	out := mk(t, "install", "DESTDIR="+dest)
	if strings.Contains(out, "smtp_scache") {
		t.Errorf("make install took the TLS session cache for a table:\n%s", out)
	}
	if b, _ := os.ReadFile(dest + "/var/lib/postfix/smtp_scache.db"); string(b) != string(scache) {
		t.Error("smtp_scache.db was changed by make install")
	}
	for _, db := range []string{"/etc/aliases.db", "/etc/postfix/virtual.db", "/etc/postfix/transport.db", "/etc/postfix/access.db"} {
		if !strings.Contains(out, "make install: migrated "+db+": rebuilt from "+strings.TrimSuffix(db, ".db")+" with Postern's ") {
			t.Errorf("no migration line for %s in:\n%s", db, out)
		}
		if b, _ := os.ReadFile(dest + "/var/lib/postern/saved" + db); string(b) != string(postfixDB[db]) {
			t.Errorf("Postfix's %s not saved as it was", db)
		}
	}
	if !strings.Contains(out, "make install: built /etc/postfix/sender_login.db from /etc/postfix/sender_login") {
		t.Errorf("sender_login.db not built:\n%s", out)
	}
	if !strings.Contains(out, "make install: warning: /etc/postfix/canonical.db is Postfix's (Berkeley DB) and its source /etc/postfix/canonical is missing") {
		t.Errorf("orphan canonical.db not named:\n%s", out)
	}
	if b, _ := os.ReadFile(dest + "/etc/postfix/canonical.db"); string(b) != string(postfixDB["/etc/postfix/canonical.db"]) {
		t.Error("canonical.db (no source) was changed")
	}
	for _, q := range []struct{ cmd, key, table, want string }{
		{"postalias", "team", "hash:" + dest + "/etc/aliases", "alice, bob"},
		{"postmap", "info@example.com", "hash:" + dest + "/etc/postfix/virtual", "alice"},
		{"postmap", "example.net", "btree:" + dest + "/etc/postfix/transport", "smtp:[relay.example.net]"},
		{"postmap", "spam@example.org", "hash:" + dest + "/etc/postfix/access", "REJECT"},
		{"postmap", "alice@example.com", "hash:" + dest + "/etc/postfix/sender_login", "alice"},
	} {
		got, err := exec.Command(filepath.Join(root(t), "bin", q.cmd), "-c", dest+"/etc/postfix", "-q", q.key, q.table).CombinedOutput()
		if err != nil || strings.TrimSpace(string(got)) != q.want {
			t.Errorf("%s -q %s %s: %q %v, want %q", q.cmd, q.key, q.table, got, err, q.want)
		}
	}
	m := manifest(t, dest+"/var/lib/postern/manifest")
	mk(t, "install", "DESTDIR="+dest)
	if m2 := manifest(t, dest+"/var/lib/postern/manifest"); len(m2) != len(m) {
		t.Errorf("second install: manifest has %d lines, had %d", len(m2), len(m))
	}

	// virtual edited under Postern: Postfix's restored virtual.db is stale.
	later := time.Now().Add(time.Hour)
	os.Chtimes(dest+"/etc/postfix/virtual", later, later)
	out = mk(t, "uninstall", "DESTDIR="+dest)
	for _, l := range []string{
		"make uninstall: /etc/postfix/virtual changed since make install: Postfix needs \"postmap hash:/etc/postfix/virtual\"\n",
		"make uninstall: removed /etc/postfix/sender_login.db (Postern's); Postfix needs \"postmap hash:/etc/postfix/sender_login\"\n",
	} {
		if !strings.Contains(out, l) {
			t.Errorf("uninstall did not say %q:\n%s", l, out)
		}
	}
	if strings.Count(out, "Postfix needs") != 2 {
		t.Errorf("uninstall names tables whose source did not change:\n%s", out)
	}
	for db := range postfixDB {
		if db == "/etc/postfix/canonical.db" {
			continue
		}
		if !strings.Contains(out, "make uninstall: restored the previous "+db+"\n") {
			t.Errorf("no restore line for %s in:\n%s", db, out)
		}
	}
	diffListings(t, before, listing(t, dest))
	for p, b := range postfixDB {
		if got, _ := os.ReadFile(dest + p); string(got) != string(b) {
			t.Errorf("%s after uninstall differs from Postfix's", p)
		}
	}
	for p, s := range texts {
		if got, _ := os.ReadFile(dest + p); string(got) != s {
			t.Errorf("%s after uninstall: %q, want %q", p, got, s)
		}
	}
}
