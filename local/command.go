package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"postern/pkg/dsn"
	"postern/pkg/printable"
)

// shellSafe are the characters of a command that local runs without a
// shell (Postfix's exec_command); anything else needs /bin/sh -c.
const shellSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!@%-_=+:,./ \t"

// shellBuiltins cannot be executed directly.
var shellBuiltins = map[string]bool{
	".": true, ":": true, "alias": true, "break": true, "cd": true, "command": true, "continue": true,
	"eval": true, "exec": true, "exit": true, "export": true, "getopts": true, "hash": true,
	"read": true, "readonly": true, "return": true, "set": true, "shift": true, "test": true,
	"times": true, "trap": true, "type": true, "ulimit": true, "umask": true, "unset": true, "wait": true,
}

// maxCommandOutput bounds the command output kept for the reason text.
const maxCommandOutput = 2048

// commandArgv decides how cmd is run: split on blanks and executed
// directly when it is plain words, else through the shell.
func commandArgv(cmd, shell string) []string {
	if shell != "" {
		return []string{shell, "-c", cmd}
	}
	fields := strings.Fields(cmd)
	if len(fields) == 0 || strings.Trim(cmd, shellSafe) != "" || shellBuiltins[fields[0]] {
		return []string{"/bin/sh", "-c", cmd}
	}
	return fields
}

// lookPath finds a command name in /usr/bin:/bin, the PATH the command
// gets, rather than in local's own PATH.
func lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, d := range []string{"/usr/bin", "/bin"} {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", syscall.ENOENT
}

var dsnPrefix = regexp.MustCompile(`^([245])\.[0-9]{1,3}\.[0-9]{1,3}(\s+|$)`)

// runCommand pipes the message into mailbox_command as Postfix's
// pipe_command(): stdin is the From_ line, the prepend lines and the
// message (no >From quoting, no trailing blank line); output (stdout and
// stderr) is kept for the reason text; the exit status maps through
// sysexits.
func runCommand(j *job, content io.Reader) result {
	argv := commandArgv(j.Command, j.Shell)
	path, err := lookPath(argv[0])
	if err != nil {
		return fail("5.3.0", "Command died with status 1: \"%s\". Command output: execvp %s: %s",
			j.Command, argv[0], printable.Strerror(err))
	}
	cmd := exec.Command(path)
	cmd.Args = argv
	cmd.Env = j.Env
	cmd.Dir = j.Dir
	out := &capBuffer{max: maxCommandOutput}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so the time limit kills the whole pipeline.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fail("4.3.0", "Command failed: %s: \"%s\"", printable.Strerror(err), j.Command)
	}
	if err := cmd.Start(); err != nil {
		return fail("4.3.0", "Command failed: %s: \"%s\"", printable.Strerror(err), j.Command)
	}
	var timedOut atomic.Bool
	limit := j.TimeLimit
	if limit <= 0 {
		limit = 1000 * time.Second
	}
	timer := time.AfterFunc(limit, func() {
		timedOut.Store(true)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	cr := &errReader{r: content}
	werr := writeCommandInput(stdin, j, cr)
	stdin.Close()
	waitErr := cmd.Wait()
	timer.Stop()

	output := cleanOutput(out.String())
	withOutput := func(s string) string {
		if output == "" {
			return s
		}
		return s + ". Command output: " + output
	}
	if timedOut.Load() {
		return fail("5.3.0", "%s", withOutput("Command time limit exceeded: \""+j.Command+"\""))
	}
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		ws, _ := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return fail("4.3.0", "%s", withOutput("Command died with signal "+strconv.Itoa(int(ws.Signal()))+": \""+j.Command+"\""))
		}
		code := ws.ExitStatus()
		if m := dsnPrefix.FindStringSubmatch(output); m != nil {
			c := strings.TrimSpace(m[0])
			text := strings.TrimSpace(output[len(m[0]):])
			if c[0] == '2' {
				c = "5" + c[1:]
			}
			return fail(c, "%s", text)
		}
		if st, ok := dsn.Sysexits(code); ok {
			return fail(st.Code, "%s", withOutput(st.Text))
		}
		return fail("5.3.0", "%s", withOutput("Command died with status "+strconv.Itoa(code)+": \""+j.Command+"\""))
	}
	if cr.err != nil {
		return fail("4.3.0", "error reading message: %s", printable.Strerror(cr.err))
	}
	if waitErr != nil {
		return fail("4.3.0", "Command failed: %s: \"%s\"", printable.Strerror(waitErr), j.Command)
	}
	if werr != nil && !errors.Is(werr, syscall.EPIPE) && !errors.Is(werr, os.ErrClosed) {
		return fail("4.3.0", "Command failed: %s: \"%s\"", printable.Strerror(werr), j.Command)
	}
	return result{Code: "2.0.0", Text: "delivered to command: " + j.Command}
}

func writeCommandInput(w io.Writer, j *job, content io.Reader) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	sender := j.Sender
	if sender == "" {
		sender = "MAILER-DAEMON"
	}
	bw.WriteString("From " + sender + "  " + time.Now().Format(time.ANSIC) + "\n")
	for _, p := range j.Prepend {
		bw.WriteString(p)
		bw.WriteByte('\n')
	}
	if _, err := bw.ReadFrom(content); err != nil {
		return err
	}
	return bw.Flush()
}

// cleanOutput makes command output fit a reason text: tabs and newlines
// become spaces, other non-printables '_', outer blanks go.
func cleanOutput(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c == '\t' || c == '\n' || c == '\r':
			b[i] = ' '
		case c < 0x20 || c >= 0x7f:
			b[i] = '_'
		}
	}
	return strings.TrimSpace(string(b))
}

// errReader remembers a read error of the message, to tell it apart
// from a command that stopped reading.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}
