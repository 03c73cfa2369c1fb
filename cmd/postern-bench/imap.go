package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// imapConn is a minimal IMAP client: it sends one tagged command and reads
// untagged lines (skipping literals) until the tagged reply, counting them.
type imapConn struct {
	c   net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	tag int
}

func dialIMAP(addr, user, pass string) (*imapConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	ic := &imapConn{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriter(c)}
	if line, err := ic.r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "* OK") {
		c.Close()
		return nil, fmt.Errorf("greeting %q: %v", line, err)
	}
	if _, err := ic.cmd(fmt.Sprintf("LOGIN %s %s", user, pass), nil); err != nil {
		c.Close()
		return nil, fmt.Errorf("LOGIN: %w", err)
	}
	return ic, nil
}

// cmd runs a command; each untagged line goes to f when not nil. It
// returns the number of untagged lines.
func (ic *imapConn) cmd(command string, f func(line string)) (int, error) {
	ic.tag++
	tag := "b" + strconv.Itoa(ic.tag)
	ic.w.WriteString(tag + " " + command + "\r\n")
	if err := ic.w.Flush(); err != nil {
		return 0, err
	}
	n := 0
	for {
		line, err := ic.r.ReadString('\n')
		if err != nil {
			return n, err
		}
		// A literal: skip its bytes and the rest of the line.
		for strings.HasSuffix(line, "}\r\n") {
			i := strings.LastIndexByte(line, '{')
			size, err := strconv.Atoi(strings.TrimSuffix(line[i+1:len(line)-3], "+"))
			if i < 0 || err != nil {
				break
			}
			if _, err := io.CopyN(io.Discard, ic.r, int64(size)); err != nil {
				return n, err
			}
			rest, err := ic.r.ReadString('\n')
			if err != nil {
				return n, err
			}
			line = line[:i] + rest
		}
		if strings.HasPrefix(line, tag+" ") {
			if !strings.HasPrefix(line[len(tag)+1:], "OK") {
				return n, fmt.Errorf("%s", strings.TrimSpace(line))
			}
			return n, nil
		}
		if strings.HasPrefix(line, "* ") {
			n++
			if f != nil {
				f(line)
			}
		}
	}
}

func (ic *imapConn) close() {
	ic.cmd("LOGOUT", nil)
	ic.c.Close()
}

// imapRound is one SELECT, UID FETCH 1:* (UID FLAGS RFC822.SIZE) and
// UID SEARCH HEADER Subject x, timed each.
type imapRound struct {
	sel, fetch, search time.Duration
	fetched, found     int
}

func (ic *imapConn) round() (imapRound, error) {
	var r imapRound
	t := time.Now()
	if _, err := ic.cmd("SELECT INBOX", nil); err != nil {
		return r, fmt.Errorf("SELECT: %w", err)
	}
	r.sel = time.Since(t)
	t = time.Now()
	n, err := ic.cmd("UID FETCH 1:* (UID FLAGS RFC822.SIZE)", func(line string) {
		if strings.Contains(line, " FETCH ") {
			r.fetched++
		}
	})
	if err != nil {
		return r, fmt.Errorf("UID FETCH: %w", err)
	}
	_ = n
	r.fetch = time.Since(t)
	t = time.Now()
	if _, err := ic.cmd("UID SEARCH HEADER Subject x", func(line string) {
		if strings.HasPrefix(line, "* SEARCH") {
			r.found = len(strings.Fields(line)) - 2
		}
	}); err != nil {
		return r, fmt.Errorf("UID SEARCH: %w", err)
	}
	r.search = time.Since(t)
	return r, nil
}

// imapBench fills a Maildir with imapMsgs messages (most written straight
// into new/, the last imapSMTP delivered through SMTP and local), then
// measures the first session, warm sessions, and concurrent sessions.
func imapBench(in *mailInstance, o *mailOptions) error {
	smtpN := min(o.imapSMTP, o.imapMsgs)
	direct := o.imapMsgs - smtpN
	t0 := time.Now()
	if err := in.populate(1, direct, o.mailSize); err != nil {
		return err
	}
	if err := in.deliverSMTP(direct+1, smtpN, o.mailSize); err != nil {
		return err
	}
	fmt.Printf("\nIMAP: Maildir of %d messages of %d bytes (%d written into new/, %d delivered by SMTP and local; %.1f s)\n",
		o.imapMsgs, o.mailSize, direct, smtpN, time.Since(t0).Seconds())
	fmt.Printf("%-30s %10s %12s %12s\n", "session", "SELECT ms", "FETCH ms", "SEARCH ms")
	one := func() (imapRound, error) {
		ic, err := dialIMAP(in.imapAddr, in.user, in.pass)
		if err != nil {
			return imapRound{}, err
		}
		defer ic.close()
		r, err := ic.round()
		if err == nil && r.fetched != o.imapMsgs {
			err = fmt.Errorf("UID FETCH 1:* returned %d messages, want %d", r.fetched, o.imapMsgs)
		}
		if want := o.imapMsgs / 100; err == nil && r.found != want {
			err = fmt.Errorf("UID SEARCH found %d messages, want %d", r.found, want)
		}
		return r, err
	}
	first, err := one()
	if err != nil {
		return err
	}
	fmt.Printf("%-30s %10.1f %12.1f %12.1f\n", "first after delivery", ms(first.sel), ms(first.fetch), ms(first.search))
	var sel, fetch, search []time.Duration
	for i := 0; i < o.imapWarm; i++ {
		r, err := one()
		if err != nil {
			return err
		}
		sel, fetch, search = append(sel, r.sel), append(fetch, r.fetch), append(search, r.search)
		fmt.Printf("%-30s %10.1f %12.1f %12.1f\n", fmt.Sprintf("  warm session %d", i+1), ms(r.sel), ms(r.fetch), ms(r.search))
	}
	fmt.Printf("%-30s %10.1f %12.1f %12.1f\n", fmt.Sprintf("warm (median of %d)", o.imapWarm),
		ms(median(sel)), ms(median(fetch)), ms(median(search)))
	fmt.Printf("%-30s %10s %12s %12s\n", "target first (<= Dovecot/2)", "174", "168", "176")
	fmt.Printf("%-30s %10s %12s %12s\n", "target warm (<= Dovecot)", "1", "49", "32")

	// Concurrent sessions: each logs in, then runs rounds back to back.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		sels     []time.Duration
		cmds     int
		firstErr error
	)
	conns := make([]*imapConn, o.imapSessions)
	for i := range conns {
		if conns[i], err = dialIMAP(in.imapAddr, in.user, in.pass); err != nil {
			return err
		}
	}
	start := time.Now()
	for _, ic := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < o.imapRounds; k++ {
				r, err := ic.round()
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				sels = append(sels, r.sel)
				cmds += 3
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	for _, ic := range conns {
		ic.close()
	}
	if firstErr != nil {
		return firstErr
	}
	fmt.Printf("%d concurrent sessions x %d rounds (SELECT, UID FETCH, UID SEARCH): SELECT p50 %.1f ms, p99 %.1f ms; %.0f commands/s\n",
		o.imapSessions, o.imapRounds, ms(median(sels)), ms(percentile(sels, 99)), float64(cmds)/wall.Seconds())
	fmt.Printf("target: SELECT p99 <= 36 ms, >= 228 commands/s (Dovecot)\n")
	return nil
}
