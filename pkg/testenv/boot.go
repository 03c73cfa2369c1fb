package testenv

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
)

// WaitBanner dials addr until an SMTP server answers 220 or the timeout
// passes.
func WaitBanner(addr string, timeout time.Duration) error {
	return waitBanner(addr, timeout, nil)
}

// waitBanner is WaitBanner that also gives up as soon as gone (if not nil)
// returns an error, e.g. because the server's process has exited.
func waitBanner(addr string, timeout time.Duration, gone func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if gone != nil {
			if err := gone(); err != nil {
				return err
			}
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err == nil && strings.HasPrefix(line, "220") {
				return nil
			}
			last = fmt.Errorf("banner %q, %v", line, err)
		} else {
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no 220 banner on %s within %v: %v", addr, timeout, last)
}
