package main

import (
	"net"

	"postern/pkg/service"
)

func main() {
	service.Main("smtpd", service.Options{TLS: []string{"smtpd"}}, func(e *service.Env) (func(net.Conn), error) {
		s, err := newServer(e.Config, e.Log)
		if err != nil {
			return nil, err
		}
		if e.Args != nil && e.Args.ServiceName != "" {
			s.service = e.Args.ServiceName
		}
		return s.handle, nil
	})
}
