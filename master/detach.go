package main

import (
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// envReady names the descriptor on which a detached master reports that it
// is up ("ok\n"): the parent exits 0 only then (Postfix's -w).
const envReady = "POSTERN_MASTER_READY_FD"

// detach starts master again in a new session with standard input and
// output on /dev/null, waits until it holds the lock and its sockets, and
// returns the exit status for the parent. Standard error stays where it is
// when it is a terminal or a file; a pipe would keep the caller waiting
// for ever, so it is replaced by /dev/null (children log to standard error
// only when there is neither maillog_file nor syslog).
func detach() int {
	r, w, err := os.Pipe()
	if err != nil {
		fatalf("pipe: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		fatalf("cannot find my own executable: %v", err)
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), envReady+"=3")
	cmd.ExtraFiles = []*os.File{w}
	if fi, err := os.Stderr.Stat(); err == nil && (fi.Mode()&os.ModeCharDevice != 0 || fi.Mode().IsRegular()) {
		cmd.Stderr = os.Stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fatalf("start %s: %v", exe, err)
	}
	w.Close()
	b, _ := io.ReadAll(io.LimitReader(r, 64))
	if strings.HasPrefix(string(b), "ok") {
		cmd.Process.Release()
		return 0
	}
	cmd.Wait()
	return 1
}

// readyFile returns the descriptor a detaching parent waits on, or nil.
func readyFile() *os.File {
	v := os.Getenv(envReady)
	if v == "" {
		return nil
	}
	os.Unsetenv(envReady)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "ready")
}
