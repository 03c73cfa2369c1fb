package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MountTmpfs mounts a tmpfs of the given size (e.g. "2m") on a new short directory and
// unmounts it when the test ends (after an instance started later has stopped). It skips
// the test, saying why, when mounting is not permitted (not root, or no CAP_SYS_ADMIN in a
// container).
func MountTmpfs(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("testenv: mounting a tmpfs needs root; skipped")
	}
	dir, err := os.MkdirTemp("", "ptq-")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput()
	if err != nil {
		os.Remove(dir)
		t.Skipf("testenv: cannot mount a tmpfs here (%v: %s); skipped", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Logf("testenv: umount %s: %v: %s", dir, err, out)
		}
		os.Remove(dir)
	})
	return dir
}

// StartWithQueue is Start with queue_directory set to dir (e.g. a MountTmpfs directory)
// instead of the instance's own spool.
func StartWithQueue(t testing.TB, opts Options, dir string) *Env {
	t.Helper()
	opts.MainCF = "queue_directory = " + dir + "\n" + opts.MainCF
	e := Start(t, opts)
	e.QueueDir = dir
	return e
}

// KillAll sends SIGKILL to master and every process of the instance at once (its process
// group, and anything else whose command line names the instance), as a power cut would
// leave them, and waits until they are gone.
func (e *Env) KillAll(t testing.TB) {
	t.Helper()
	pid := e.cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGKILL)
	for _, p := range procsMentioning(e.Dir) {
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
	<-e.exited
	deadline := time.Now().Add(5 * time.Second)
	for len(procsMentioning(e.Dir)) > 0 && time.Now().Before(deadline) {
		for _, p := range procsMentioning(e.Dir) {
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Restart starts master again on the instance's configuration and queue (after KillAll, or
// after master has exited) and waits for the SMTP banner.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	select {
	case <-e.exited:
	default:
		t.Fatal("testenv: Restart while master is still running")
	}
	e.exited = make(chan struct{})
	e.cmd = exec.Command(filepath.Join(e.BinDir, "master"), "-d", "-c", e.ConfigDir)
	e.cmd.Stdout, e.cmd.Stderr = e.out, e.out
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("testenv: restart master: %v", err)
	}
	exited := e.exited
	cmd := e.cmd
	go func() { cmd.Wait(); close(exited) }()
	if err := e.waitBanner(20 * time.Second); err != nil {
		t.Fatalf("testenv: after restart: %v\nmaster output:\n%s\nmaillog:\n%s", err, e.out.String(), e.Log())
	}
}

// SetMainCF rewrites main.cf with extra in place of the Options.MainCF lines given at Start
// (takes effect at the next Restart or Reload).
func (e *Env) SetMainCF(t testing.TB, extra string) {
	t.Helper()
	if e.QueueDir != e.Layout.QueueDir() {
		extra = "queue_directory = " + e.QueueDir + "\n" + extra // keep StartWithQueue's
	}
	e.Layout.MainCF = extra
	if err := os.WriteFile(filepath.Join(e.ConfigDir, "main.cf"), []byte(e.Layout.MainCFText()), 0644); err != nil {
		t.Fatal(err)
	}
}

// SetMasterCF rewrites master.cf as the layout's, minus the services named in without (e.g.
// "local", to hold deliveries: qmgr then defers with "mail transport unavailable"). It takes
// effect at the next Restart or Reload.
func (e *Env) SetMasterCF(t testing.TB, without ...string) {
	t.Helper()
	var keep []string
	skipping := false
	for _, line := range strings.SplitAfter(e.Layout.MasterCFText(), "\n") {
		if line == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !skipping {
				keep = append(keep, line) // a continuation of a kept service
			}
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		skipping = false
		for _, w := range without {
			if name == w {
				skipping = true
			}
		}
		if !skipping {
			keep = append(keep, line)
		}
	}
	if err := os.WriteFile(filepath.Join(e.ConfigDir, "master.cf"), []byte(strings.Join(keep, "")), 0644); err != nil {
		t.Fatal(err)
	}
}
