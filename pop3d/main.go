package main

import (
	"net"

	"postern/pkg/config"
	"postern/pkg/handoff"
	"postern/pkg/maillog"
)

func main() {
	// The session process (handoff.go) is this binary with sessionFlag.
	handoff.Main("pop3d", sessionFlag, sessionMain, func(c *config.Config, log *maillog.Logger) (func(net.Conn), error) {
		s, err := newServer(c, log)
		return s.handle, err
	})
}
