package main

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"

	"postern/pkg/queue"
)

// drop is one message being written to a postdrop child: records go down a pipe, and the
// file is committed only when the stream ends with E and postdrop exits 0.
type drop struct {
	cmd    *exec.Cmd
	pipe   io.WriteCloser
	w      *bufio.Writer
	stderr *stderrLine
	err    error
}

// startPostdrop runs "postdrop -r -v": -v makes it report the queue ID (the maildrop file
// name) that the -bs dialogue puts in its 250 reply.
func startPostdrop(s *smtpSession) (*drop, error) {
	path, err := findProgram(s.cfg, "postdrop")
	if err != nil {
		return nil, fmt.Errorf("unable to execute postdrop: %v", err)
	}
	d := &drop{cmd: exec.Command(path, "-r", "-v", "-c", s.cfg.Dir()), stderr: &stderrLine{}}
	d.cmd.Stderr = d.stderr
	if d.pipe, err = d.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("pipe: %v", err)
	}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("unable to execute %s: %v", path, err)
	}
	d.w = bufio.NewWriterSize(d.pipe, 64<<10)
	return d, nil
}

func (d *drop) rec(typ byte, data string) {
	if d.err == nil {
		d.err = queue.WriteRecord(d.w, typ, []byte(data))
	}
}

func (d *drop) line(b []byte, limit int) {
	if d.err == nil {
		d.err = queue.WriteLine(d.w, b, limit)
	}
}

// cancel closes the pipe before the E record: postdrop removes its file.
func (d *drop) cancel() {
	d.pipe.Close()
	d.cmd.Wait()
}

// finish flushes the stream and waits for postdrop's verdict.
func (d *drop) finish() (string, error) {
	if d.err == nil {
		d.err = d.w.Flush()
	}
	d.pipe.Close()
	werr := d.cmd.Wait()
	switch {
	case d.err != nil:
		return "", fmt.Errorf("write to postdrop: %v", d.err)
	case werr != nil:
		return "", fmt.Errorf("postdrop: %v", werr)
	case d.stderr.id == "":
		return "", fmt.Errorf("postdrop reported no queue ID")
	}
	return d.stderr.id, nil
}
