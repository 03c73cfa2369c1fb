package main

import (
	"net"
	"os"

	"postern/pkg/service"
)

func main() {
	// A session child (child.go) is this same binary, started by a root
	// imapd with the user's credentials; it never reaches service.Main.
	if len(os.Args) > 1 && os.Args[1] == sessionFlag {
		os.Exit(sessionMain())
	}
	service.Main("imapd", service.Options{TLS: []string{"imapd", "smtpd"}}, func(e *service.Env) (func(net.Conn), error) {
		s, err := newServer(e.Config, e.Log, os.Args[1:])
		if err != nil {
			return nil, err
		}
		return s.handle, nil
	})
}
