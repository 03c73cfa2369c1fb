package main

import (
	"net"
	"os"

	"postern/pkg/service"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == sessionFlag {
		os.Exit(sessionMain())
	}
	service.Main("pop3d", service.Options{TLS: []string{"pop3d", "smtpd"}}, func(e *service.Env) (func(net.Conn), error) {
		s, err := newServer(e.Config, e.Log)
		if err != nil {
			return nil, err
		}
		return s.handle, nil
	})
}
