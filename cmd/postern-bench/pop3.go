package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"time"
)

// pop3Conn is a minimal POP3 client: one command, one reply, and for
// multi-line replies every line up to the final dot.
type pop3Conn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func dialPOP3(addr string) (*pop3Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &pop3Conn{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriter(c)}
	if _, err := p.status(); err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return p, nil
}

func (p *pop3Conn) status() (string, error) {
	line, err := p.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(line, "+OK") {
		return "", fmt.Errorf("%s", strings.TrimSpace(line))
	}
	return strings.TrimSpace(line), nil
}

func (p *pop3Conn) cmd(line string) (string, error) {
	p.w.WriteString(line + "\r\n")
	if err := p.w.Flush(); err != nil {
		return "", err
	}
	return p.status()
}

// multi reads a multi-line reply's body and returns its size in bytes.
func (p *pop3Conn) multi() (int64, error) {
	var n int64
	for {
		line, err := p.r.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			return n, err
		}
		if bytes.Equal(line, []byte(".\r\n")) {
			return n, nil
		}
		n += int64(len(line))
	}
}

// pop3Bench fills the Maildir with pop3Msgs messages and retrieves them
// all in one session, one RETR after the other, as fetchmail does.
func pop3Bench(in *mailInstance, o *mailOptions) error {
	if err := in.populate(1, o.pop3Msgs, o.mailSize); err != nil {
		return err
	}
	fmt.Printf("\nPOP3: one session retrieving %d messages of %d bytes (Maildir new/, never opened)\n", o.pop3Msgs, o.mailSize)
	t0 := time.Now()
	p, err := dialPOP3(in.pop3Addr)
	if err != nil {
		return err
	}
	defer p.c.Close()
	if _, err := p.cmd("USER " + in.user); err != nil {
		return err
	}
	if _, err := p.cmd("PASS " + in.pass); err != nil {
		return fmt.Errorf("PASS: %w", err)
	}
	login := time.Since(t0)
	st, err := p.cmd("STAT")
	if err != nil {
		return err
	}
	var count int
	var total int64
	fmt.Sscanf(st, "+OK %d %d", &count, &total)
	if count != o.pop3Msgs {
		return fmt.Errorf("STAT says %q, want %d messages", st, o.pop3Msgs)
	}
	t1 := time.Now()
	var bytesIn int64
	for i := 1; i <= count; i++ {
		if _, err := p.cmd(fmt.Sprintf("RETR %d", i)); err != nil {
			return fmt.Errorf("RETR %d: %w", i, err)
		}
		n, err := p.multi()
		if err != nil {
			return fmt.Errorf("RETR %d: %w", i, err)
		}
		bytesIn += n
	}
	retr := time.Since(t1)
	if _, err := p.cmd("QUIT"); err != nil {
		return err
	}
	all := time.Since(t0)
	fmt.Printf("%-34s %10s\n", "", "result")
	fmt.Printf("%-34s %10.1f ms\n", "login (USER/PASS, new/ to cur/)", ms(login))
	fmt.Printf("%-34s %10.0f msg/s  (%.1f MB/s)\n", "RETR loop", float64(count)/retr.Seconds(), float64(bytesIn)/retr.Seconds()/1e6)
	fmt.Printf("%-34s %10.0f msg/s  (%.0f ms)\n", "whole session (connect to QUIT)", float64(count)/all.Seconds(), ms(all))
	fmt.Printf("target: >= Dovecot's 4,900 msg/s (Courier 4,300-4,700)\n")
	return nil
}
