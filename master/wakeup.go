package main

import (
	"net"
	"time"

	"postern/pkg/ipc"
)

// wakeups connects to s every wakeup seconds and writes the trigger "W"
// (master.cf column 6). "N?" (only after first use) is treated as N.
func (m *master) wakeups(s *service) {
	t := time.NewTicker(s.wakeup)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		var err error
		if s.lis.network == "unix" {
			err = ipc.Trigger(s.lis.address, "W", 5*time.Second)
		} else {
			var c net.Conn
			if c, err = net.DialTimeout(s.lis.network, s.lis.address, 5*time.Second); err == nil {
				c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				_, err = c.Write([]byte("W"))
				c.Close()
			}
		}
		if err != nil {
			m.logger().Warn("%s: wakeup %s: %v", s.conf.Key(), s.lis.address, err)
		}
	}
}
