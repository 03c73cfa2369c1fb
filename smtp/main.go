package main

import (
	"net"

	"postern/pkg/service"
)

func main() {
	service.Main("smtp", service.Options{TLS: []string{"smtp"}}, func(e *service.Env) (func(net.Conn), error) {
		s, err := newServer(e.Config, e.Log)
		if err != nil {
			return nil, err
		}
		return s.serve, nil
	})
}
