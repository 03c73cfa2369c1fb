package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"postern/pkg/config"
)

// TestLayoutWrite checks that the written main.cf and master.cf parse and
// say what the harness relies on.
func TestLayoutWrite(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0755)
	for _, p := range []string{"master", "smtpd", "cleanup", "qmgr", "local"} {
		os.WriteFile(filepath.Join(bin, p), nil, 0755)
	}
	l := &Layout{Dir: filepath.Join(dir, "inst"), BinDir: bin, SMTPAddr: "127.0.0.1:2525",
		SubmissionAddr: "127.0.0.1:2587", POP3Addr: "127.0.0.1:2110",
		MainCF: "message_size_limit = 10000\n", MasterCF: "127.0.0.1:2526 inet n - n - - smtpd\n  -o mynetworks=192.0.2.0/24\n"}
	if err := l.Write(); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(l.ConfigDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"queue_directory":      l.QueueDir(),
		"daemon_directory":     bin,
		"mail_spool_directory": l.MailDir(),
		"myhostname":           "postern.test",
		"mydomain":             "test",
		"mydestination":        "postern.test, localhost.test, localhost",
		"message_size_limit":   "10000",
		"mail_owner":           DefaultMailOwner(),
	} {
		if got := c.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	svcs, err := config.LoadMaster(l.ConfigDir(), c)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]config.Service{}
	for _, s := range svcs {
		got[s.Key()] = s
	}
	for _, key := range []string{"127.0.0.1:2525/inet", "127.0.0.1:2587/inet", "cleanup/unix", "qmgr/unix", "local/unix", "127.0.0.1:2526/inet"} {
		if _, ok := got[key]; !ok {
			t.Errorf("master.cf lacks %s: %v", key, svcs)
		}
	}
	// Only services whose programs exist.
	for _, key := range []string{"127.0.0.1:2110/inet", "pickup/unix", "bounce/unix"} {
		if _, ok := got[key]; ok {
			t.Errorf("master.cf has %s without its program", key)
		}
	}
	if s := got["127.0.0.1:2526/inet"]; len(s.Overrides) != 1 || s.Overrides[0] != [2]string{"mynetworks", "192.0.2.0/24"} {
		t.Errorf("extra service overrides = %v", s.Overrides)
	}
}
