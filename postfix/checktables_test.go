package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckTables: postfix check names every hash:/btree: table Postfix left
// in Berkeley DB format, wherever the configuration names it (a map
// parameter, alias_maps, a restriction, a master.cf -o option): a warning
// with the command that rebuilds it when its source is there, an error and
// exit status 1 when the source is gone; tables in Postern's format or not
// built yet, and caches Postfix's daemons wrote (smtp_scache), are not
// mentioned.
func TestCheckTables(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	bdbHead := append(make([]byte, 12), 0x61, 0x15, 0x06, 0x00, 0, 0, 0, 0)
	files := map[string][]byte{
		"aliases":        []byte("root: admin\n"),
		"aliases.db":     bdbHead,
		"virtual":        []byte("a@example.com b\n"),
		"virtual.db":     bdbHead,
		"access.db":      bdbHead, // no source
		"login":          []byte("a@example.com a\n"),
		"login.db":       bdbHead,
		"transport":      []byte("example.com smtp:\n"),
		"transport.db":   []byte("not Berkeley DB at all\n"),
		"relocated":      []byte("a@example.com b@example.org\n"), // no .db yet
		"smtp_scache.db": bdbHead,                                 // a cache Postfix's smtp wrote: no source, not a table
	}
	for name, b := range files {
		os.WriteFile(filepath.Join(dir, name), b, 0644)
	}
	cf := "queue_directory = " + dir + "/q\ndata_directory = " + dir + "/d\ndaemon_directory = " + dir + "/bin\n" +
		"maillog_file = " + dir + "/log\nmaillog_file_prefixes = " + dir + "\nmail_owner = nobody\n" +
		"alias_maps = hash:" + dir + "/aliases\nalias_database = $alias_maps\n" +
		"tables = " + dir + "\n" +
		"virtual_alias_maps = proxy:hash:$tables/virtual\n" +
		"transport_maps = btree:" + dir + "/transport\n" +
		"relocated_maps = hash:" + dir + "/relocated\n" +
		"smtp_tls_session_cache_database = btree:" + dir + "/smtp_scache\n" +
		"smtpd_recipient_restrictions = permit_mynetworks,\n    check_recipient_access btree:" + dir + "/access, reject_unauth_destination\n"
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(cf), 0644)
	os.WriteFile(filepath.Join(dir, "master.cf"), []byte("smtp inet n - y - - smtpd\n"+
		"submission inet n - y - - smtpd\n  -o smtpd_sender_login_maps=hash:"+dir+"/login\n"), 0644)

	out, err := exec.Command(bin, "-c", dir, "check").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("check: %v, want exit status 1", err)
	}
	want := []string{
		"postfix/postfix-script: warning: alias_maps: table " + dir + "/aliases.db was made by Postfix (Berkeley DB); run \"postalias " + dir + "/aliases\" to rebuild it",
		"postfix/postfix-script: error: smtpd_recipient_restrictions: table " + dir + "/access.db was made by Postfix (Berkeley DB), which Postern cannot read, and its source file " + dir + "/access is missing: write " + dir + "/access again (db_dump -p " + dir + "/access.db, from Debian's db-util, lists the entries) and run \"postmap " + dir + "/access\"",
		"postfix/postfix-script: warning: virtual_alias_maps: table " + dir + "/virtual.db was made by Postfix (Berkeley DB); run \"postmap " + dir + "/virtual\" to rebuild it",
		"postfix/postfix-script: warning: submission/inet/smtpd_sender_login_maps: table " + dir + "/login.db was made by Postfix (Berkeley DB); run \"postmap " + dir + "/login\" to rebuild it",
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(l, "Berkeley DB") {
			got = append(got, l)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("postfix check said:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log"))
	if !strings.Contains(string(log), "]: error: smtpd_recipient_restrictions: table "+dir+"/access.db was made by Postfix") {
		t.Errorf("error not logged:\n%s", log)
	}

	// Rebuilt (here: the orphan's source written and every table replaced), check is quiet.
	for _, name := range []string{"aliases.db", "virtual.db", "access.db", "login.db"} {
		os.WriteFile(filepath.Join(dir, name), []byte("rebuilt\n"), 0644)
	}
	if out, err := exec.Command(bin, "-c", dir, "check").CombinedOutput(); err != nil || strings.Contains(string(out), "Berkeley") {
		t.Errorf("check after the rebuild: %v\n%s", err, out)
	}
}
