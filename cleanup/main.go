package main

import (
	"net"

	"postern/pkg/service"
)

func main() {
	service.Main("cleanup", service.Options{}, func(e *service.Env) (func(net.Conn), error) {
		s, err := newServer(e.Config, e.Log, e.Args.Verbose)
		if err != nil {
			return nil, err
		}
		return s.handle, nil
	})
}
