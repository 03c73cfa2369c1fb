package service

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern/pkg/config"
	"postern/pkg/passwd"
	"postern/pkg/testenv"
)

func TestParseStatus(t *testing.T) {
	c, err := parseStatus("Name:\tsmtpd\nUid:\t107\t107\t107\t107\nGid:\t114\t114\t114\t114\nFDSize:\t64\nGroups:\t\nNSpid:\t1\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Creds{UID: [4]int{107, 107, 107, 107}, GID: [4]int{114, 114, 114, 114}}); !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v", c)
	}
	if !c.Are(107, 114) || c.Are(0, 114) {
		t.Errorf("Are: wrong answer for %+v", c)
	}
	c, err = parseStatus("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t4 24 \n")
	if err != nil || !reflect.DeepEqual(c.Groups, []int{4, 24}) || c.Are(0, 0) {
		t.Errorf("groups: %+v %v", c, err)
	}
	for _, bad := range []string{"", "Uid:\t1\t1\nGid:\t1\t1\t1\t1\nGroups:\n", "Uid:\tx\t1\t1\t1\nGid:\t1\t1\t1\t1\nGroups:\n"} {
		if _, err := parseStatus(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	// This process, read for real.
	me, err := ProcCreds(os.Getpid())
	if err != nil || len(me) == 0 {
		t.Fatalf("ProcCreds: %v %v", me, err)
	}
	if me[0].UID[1] != os.Geteuid() || me[0].GID[1] != os.Getegid() {
		t.Errorf("ProcCreds of this process: %+v", me[0])
	}
}

// writeChain writes key then certificate of a fresh self-signed pair into one file.
func writeChain(t *testing.T, dir, name, host string) string {
	cert, key := testenv.SelfSignedCert(t, t.TempDir(), host)
	kb, _ := os.ReadFile(key)
	cb, _ := os.ReadFile(cert)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, append(kb, cb...), 0600); err != nil {
		t.Fatal(err)
	}
	return path
}

func leafName(t *testing.T, c tls.Certificate) string {
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return x.Subject.CommonName
}

func TestCertificates(t *testing.T) {
	dir := t.TempDir()
	cfg := func(text string) *config.Config {
		os.WriteFile(filepath.Join(dir, "main.cf"), []byte(text), 0644)
		c, err := config.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	rsa, rsaKey := testenv.SelfSignedCert(t, t.TempDir(), "main.test")
	ec, ecKey := testenv.SelfSignedCert(t, t.TempDir(), "ec.test")

	if certs, err := Certificates(cfg(""), "smtpd"); err != nil || len(certs) != 0 {
		t.Errorf("nothing configured: %d certificates, %v", len(certs), err)
	}
	certs, err := Certificates(cfg(fmt.Sprintf("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"+
		"smtpd_tls_eccert_file = %s\nsmtpd_tls_eckey_file = %s\n", rsa, rsaKey, ec, ecKey)), "smtpd")
	if err != nil || len(certs) != 2 || leafName(t, certs[0]) != "main.test" || leafName(t, certs[1]) != "ec.test" {
		t.Fatalf("cert + eccert: %d %v", len(certs), err)
	}
	// The key in the certificate file when smtp_tls_key_file is empty.
	both := writeChain(t, dir, "both.pem", "client.test")
	certs, err = Certificates(cfg("smtp_tls_cert_file = "+both+"\nsmtp_tls_key_file =\n"), "smtp")
	if err != nil || len(certs) != 1 || leafName(t, certs[0]) != "client.test" {
		t.Fatalf("key in the certificate file: %d %v", len(certs), err)
	}
	// chain_files win over cert_file; each key starts a chain.
	one := writeChain(t, dir, "one.pem", "one.test")
	two := writeChain(t, dir, "two.pem", "two.test")
	b1, _ := os.ReadFile(one)
	b2, _ := os.ReadFile(two)
	os.WriteFile(filepath.Join(dir, "pair.pem"), append(b1, b2...), 0600)
	certs, err = Certificates(cfg(fmt.Sprintf("smtpd_tls_cert_file = %s\nsmtpd_tls_chain_files = %s/pair.pem, %s\n", rsa, dir, both)), "smtpd")
	if err != nil || len(certs) != 3 || leafName(t, certs[0]) != "one.test" || leafName(t, certs[1]) != "two.test" || leafName(t, certs[2]) != "client.test" {
		t.Fatalf("chain files: %d %v", len(certs), err)
	}
	// A certificate before any key, a file without a key, a missing file: errors naming the file.
	cb, _ := os.ReadFile(rsa)
	os.WriteFile(filepath.Join(dir, "certfirst.pem"), append(cb, b1...), 0600)
	for _, c := range []struct{ conf, want string }{
		{"smtpd_tls_chain_files = " + dir + "/certfirst.pem", "cannot load TLS chain file " + dir + "/certfirst.pem: certificate before its private key"},
		{"smtpd_tls_chain_files = " + rsa, "cannot load TLS chain file " + rsa + ": no private key"},
		{"smtpd_tls_cert_file = " + dir + "/missing.pem", "cannot load TLS certificate " + dir + "/missing.pem / key " + dir + "/missing.pem: open " + dir + "/missing.pem: no such file or directory"},
	} {
		if _, err := Certificates(cfg(c.conf), "smtpd"); err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.conf, err, c.want)
		}
	}
}

// TestPreloadTLS: the contents read by PreloadTLS are what Certificates uses
// later, even when the file has gone (or become unreadable) meanwhile.
func TestPreloadTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := testenv.SelfSignedCert(t, dir, "preload.test")
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("pop3d_tls_cert_file = "+cert+"\npop3d_tls_key_file = "+key+"\n"), 0644)
	c, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	PreloadTLS(c, "pop3d")
	os.Remove(key)
	certs, err := Certificates(c, "pop3d")
	if err != nil || len(certs) != 1 || leafName(t, certs[0]) != "preload.test" {
		t.Fatalf("after the key file went: %d %v", len(certs), err)
	}
}

// The main goroutine keeps the main thread, which never ends (Go wedges it instead), so
// the locked thread TestMainDropsAfterReadingKeys forks from is never that one.
func init() { runtime.LockOSThread() }

// Environment of the daemon child in TestMainDropsAfterReadingKeys.
const (
	privChildEnv = "SERVICE_PRIV_CHILD"
	privArgsEnv  = "SERVICE_PRIV_ARGS"
)

// privChild is the daemon: Main with smtpd's TLS files, serving a TLS
// handshake and then a report of its own credentials.
func privChild() {
	os.Args = append([]string{os.Args[0]}, strings.Fields(os.Getenv(privArgsEnv))...)
	Main("tlsd", Options{TLS: []string{"smtpd"}}, func(e *Env) (func(net.Conn), error) {
		certs, err := Certificates(e.Config, "smtpd")
		if err != nil {
			return nil, err
		}
		cfg := &tls.Config{Certificates: certs}
		keyFile := e.Config.Get("smtpd_tls_key_file")
		return func(c net.Conn) {
			defer c.Close()
			tc := tls.Server(c, cfg)
			if err := tc.Handshake(); err != nil {
				return
			}
			_, rerr := os.ReadFile(keyFile)
			fmt.Fprintf(tc, "uid=%d gid=%d keyreadable=%v\n", os.Getuid(), os.Getgid(), !errors.Is(rerr, fs.ErrPermission))
		}, nil
	})
}

func TestMainDropsAfterReadingKeys(t *testing.T) {
	if os.Getenv(privChildEnv) == "1" {
		privChild()
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	owner, err := passwd.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	// A certbot-style key: root:root 0600 in a root 0700 directory, the
	// certificate there too.
	dir := t.TempDir()
	priv := filepath.Join(dir, "private")
	os.Mkdir(priv, 0700)
	cert, key := testenv.SelfSignedCert(t, priv, "mail.fossedu.test")
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(fmt.Sprintf(
		"mail_owner = nobody\nmaillog_file = /dev/stdout\nmax_idle = 30s\nsmtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n", cert, key)), 0644)

	// start runs the daemon with args. Like master, the parent sets a
	// parent-death signal; the parent is the OS thread that forks (locked
	// here), so ending that thread (close(parentGone)) is the parent's death.
	start := func(args string, parentGone chan struct{}) (*exec.Cmd, *bytes.Buffer, string) {
		ln := listen(t)
		f, _ := ln.(*net.TCPListener).File()
		ln.Close()
		cmd := exec.Command(os.Args[0], "-test.run=^TestMainDropsAfterReadingKeys$")
		cmd.Env = append(os.Environ(), privChildEnv+"=1", privArgsEnv+"="+args, EnvListenFDs+"=1")
		cmd.ExtraFiles = []*os.File{f}
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		started := make(chan error)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			started <- cmd.Start()
			<-parentGone
		}()
		if err := <-started; err != nil {
			t.Fatal(err)
		}
		f.Close()
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, out, ln.Addr().String()
	}

	parentGone := make(chan struct{})
	cmd, out, addr := start("-c "+dir+" -n tlsd -t inet -u", parentGone)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS handshake with the unprivileged daemon: %v\n%s", err, out)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "mail.fossedu.test" {
		t.Errorf("server certificate %q", cn)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	want := fmt.Sprintf("uid=%d gid=%d keyreadable=false\n", owner.UID, owner.GID)
	if line != want {
		t.Errorf("daemon reports %q, want %q", line, want)
	}
	threads, err := ProcCreds(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range threads {
		if !c.Are(owner.UID, owner.GID) {
			t.Errorf("a thread of the daemon has %+v, want uid/gid %d/%d and no groups", c, owner.UID, owner.GID)
		}
	}

	// The kernel clears the parent-death signal at setuid; the daemon set it
	// again, so it still ends (SIGTERM: exit 0) when its parent does.
	conn.Close()
	close(parentGone)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("daemon after SIGTERM: %v\n%s", err, out)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("the daemon outlived its parent: parent-death signal lost in the privilege drop")
	}

	// Without -u it stays root; an unknown mail_owner is fatal before any connection.
	never := make(chan struct{})
	t.Cleanup(func() { close(never) })
	_, _, addr = start("-c "+dir+" -n tlsd -t inet", never)
	conn2, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	conn2.SetDeadline(time.Now().Add(5 * time.Second))
	if line, _ := bufio.NewReader(conn2).ReadString('\n'); !strings.HasPrefix(line, "uid=0 gid=0 ") || !strings.HasSuffix(line, "keyreadable=true\n") {
		t.Errorf("privileged daemon reports %q", line)
	}
	conn2.Close()

	bad, out, _ := start("-c "+dir+" -n tlsd -t inet -u -o mail_owner=no-such-user-here", never)
	err = bad.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("unknown mail_owner: exit %v", err)
	}
	if !strings.Contains(out.String(), "tlsd["+strconv.Itoa(bad.Process.Pid)+"]: fatal: parameter mail_owner: unknown user name value: no-such-user-here") {
		t.Errorf("unknown mail_owner: output %q", out)
	}
}
