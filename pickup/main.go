package main

import (
	"net"

	"postern/pkg/service"
)

func main() {
	service.Main("pickup", service.Options{Resident: true}, func(e *service.Env) (func(net.Conn), error) {
		p, err := newPickup(e.Config, e.Log)
		if err != nil {
			return nil, err
		}
		go p.run(service.SignalContext())
		return p.trigger, nil
	})
}
