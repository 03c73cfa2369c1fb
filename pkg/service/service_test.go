package service

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestParseArgs(t *testing.T) {
	a, err := ParseArgs("smtpd", []string{"-c", "/etc/p", "-n", "submission", "-t", "inet", "-u",
		"-o", "syslog_name=postfix/submission", "-o", "smtpd_client_restrictions=permit_sasl_authenticated, reject",
		"-lv", "-s2", "extra", "-o", "x=y"})
	if err != nil {
		t.Fatal(err)
	}
	want := &Args{ConfigDir: "/etc/p", ServiceName: "submission", Type: "inet", Unpriv: true, Verbose: true, Listeners: 2,
		Overrides: [][2]string{{"syslog_name", "postfix/submission"}, {"smtpd_client_restrictions", "permit_sasl_authenticated, reject"}},
		Rest:      []string{"extra", "-o", "x=y"}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got %+v\nwant %+v", a, want)
	}
	for _, bad := range [][]string{{"-o", "novalue"}, {"-x"}, {"-c"}, {"-o", "=v"}} {
		if _, err := ParseArgs("p", bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func listen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestServeStreamMaxProcAndIdle(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	var cur, peak atomic.Int32
	release := make(chan struct{})
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- ServeStream([]net.Listener{ln}, 2, 300*time.Millisecond, func(c net.Conn) {
			defer c.Close()
			n := cur.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			fmt.Fprintf(c, "hi\n")
			<-release
			cur.Add(-1)
		})
	}()
	var wg sync.WaitGroup
	greeted := make(chan struct{}, 5)
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
				t.Error(err)
				return
			}
			greeted <- struct{}{}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(greeted); n != 2 {
		t.Errorf("%d connections served at once, want 2", n)
	}
	close(release)
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrency %d, want 2", p)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(start) < 500*time.Millisecond {
			t.Errorf("idle exit too early")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no idle exit")
	}
}

// TestServeStreamSIGTERM runs a server in a child process (this test
// binary), sends SIGTERM while a connection is in hand, and expects the
// connection to be finished and the process to exit 0.
func TestServeStreamSIGTERM(t *testing.T) {
	if os.Getenv("SERVICE_TEST_CHILD") == "1" {
		lns, err := Listeners()
		if err != nil || len(lns) != 1 {
			fmt.Fprintln(os.Stderr, "listeners:", err, len(lns))
			os.Exit(3)
		}
		err = ServeStream(lns, MaxProc(), 0, func(c net.Conn) {
			defer c.Close()
			fmt.Fprintf(c, "busy\n")
			time.Sleep(500 * time.Millisecond)
			fmt.Fprintf(c, "done\n")
		})
		if err != nil {
			os.Exit(4)
		}
		os.Exit(0)
	}
	ln := listen(t)
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeStreamSIGTERM$")
	cmd.Env = append(os.Environ(), "SERVICE_TEST_CHILD=1", EnvListenFDs+"=1", EnvMaxProc+"=0")
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	defer cmd.Process.Kill()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // master's copy: once the child stops listening, dials fail
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	if l, err := r.ReadString('\n'); err != nil || l != "busy\n" {
		t.Fatalf("%q %v", l, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if l, err := r.ReadString('\n'); err != nil || l != "done\n" {
		t.Fatalf("in-flight connection cut: %q %v", l, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child exit: %v", err)
	}
}

func TestLoadConfigOverrides(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/main.cf", []byte("max_idle = 5s\nsyslog_name = postfix\n"), 0644)
	a, err := ParseArgs("smtp", []string{"-c", dir, "-n", "relay", "-t", "unix", "-o", "syslog_name=postfix/$service_name", "-o", "max_idle=7s"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Get("syslog_name"); got != "postfix/relay" {
		t.Errorf("syslog_name = %q", got)
	}
	if got := c.Duration("max_idle"); got != 7*time.Second {
		t.Errorf("max_idle = %v", got)
	}
}

// TestParseArgsRefusals pins the words of a bad daemon command line, prefixed by the program.
func TestParseArgsRefusals(t *testing.T) {
	for _, c := range []struct {
		argv []string
		err  string
	}{
		{[]string{"-uq"}, "smtpd: invalid option -- 'q'"},
		{[]string{"-u", "-n"}, "smtpd: option requires an argument -- 'n'"},
		{[]string{"-o", "novalue"}, `smtpd: bad -o parameter: "novalue" (need name=value)`},
		{[]string{"-s", "x"}, `smtpd: bad -s value: "x"`},
	} {
		if _, err := ParseArgs("smtpd", c.argv); err == nil || err.Error() != c.err {
			t.Errorf("%q: error %v, want %q", c.argv, err, c.err)
		}
	}
}
