package auth

import (
	"bufio"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"postern/pkg/ipc"
)

func TestLoginServer(t *testing.T) {
	var gotU, gotP string
	check := func(u, p string) error {
		gotU, gotP = u, p
		if p != "pw" {
			return errors.New("bad")
		}
		return nil
	}
	// Without an initial response.
	s := NewLoginServer(check)
	c, done, err := s.Next(nil)
	if string(c) != "Username:" || done || err != nil {
		t.Fatalf("step 0: %q %v %v", c, done, err)
	}
	c, done, err = s.Next([]byte("fm"))
	if string(c) != "Password:" || done || err != nil {
		t.Fatalf("step 1: %q %v %v", c, done, err)
	}
	if _, done, err = s.Next([]byte("pw")); !done || err != nil || gotU != "fm" || gotP != "pw" {
		t.Fatalf("step 2: %v %v %q %q", done, err, gotU, gotP)
	}
	if _, _, err = s.Next([]byte("x")); err == nil {
		t.Fatal("extra step accepted")
	}
	// With go-sasl's client, which sends the username as initial response.
	cl := sasl.NewLoginClient("fm", "bad")
	_, ir, _ := cl.Start()
	s = NewLoginServer(check)
	c, _, _ = s.Next(ir)
	resp, err := cl.Next(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, done, err = s.Next(resp); !done || err == nil {
		t.Fatalf("wrong password: %v %v", done, err)
	}
}

func TestClient(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "auth")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			req, _ := ipc.Read(bufio.NewReader(c))
			var rep ipc.Attrs
			switch {
			case req.Get("username") == "temp":
				rep = ipc.Attrs{{Name: "status", Value: "temp"}, {Name: "reason", Value: "backend down"}}
			case req.Get("request") == "lookup" || req.Get("password") == "pw":
				rep = (&User{Username: "fm", UID: 1000, GID: 100, Home: "/h", Maildir: "/h/Maildir/"}).Reply()
			case req.Get("username") == "junk":
				rep = ipc.Attrs{{Name: "status", Value: "ok"}}
			default:
				rep = ipc.Attrs{{Name: "status", Value: "fail"}}
			}
			ipc.Write(c, rep)
			c.Close()
		}
	}()
	cl := &Client{Socket: sock, Timeout: 5 * time.Second}
	u, err := cl.Authenticate("pop3", "FM", "pw", "127.0.0.1")
	if err != nil || u.UID != 1000 || u.Maildir != "/h/Maildir/" || u.Username != "fm" {
		t.Fatalf("ok: %+v %v", u, err)
	}
	if _, err := cl.Authenticate("pop3", "fm", "x", "127.0.0.1"); err != ErrFailed {
		t.Fatalf("fail: %v", err)
	}
	var te *TempError
	if _, err := cl.Authenticate("pop3", "temp", "x", ""); !errors.As(err, &te) || te.Reason != "backend down" {
		t.Fatalf("temp: %v", err)
	}
	if _, err := cl.Authenticate("pop3", "junk", "x", ""); !errors.As(err, &te) {
		t.Fatalf("junk: %v", err)
	}
	if u, err := cl.Lookup("imap", "fm"); err != nil || u.Home != "/h" {
		t.Fatalf("lookup: %+v %v", u, err)
	}
	bad := &Client{Socket: sock + "x"}
	if _, err := bad.Lookup("imap", "fm"); !errors.As(err, &te) {
		t.Fatalf("no socket: %v", err)
	}
}
