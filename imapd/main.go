package main

import (
	"net"
	"os"

	"postern/pkg/config"
	"postern/pkg/handoff"
	"postern/pkg/maillog"
)

func main() {
	// The session server (child.go) is this binary with sessionFlag.
	handoff.Main("imapd", sessionFlag, sessionMain, func(c *config.Config, log *maillog.Logger) (func(net.Conn), error) {
		s, err := newServer(c, log, os.Args[1:])
		return s.handle, err
	})
}
