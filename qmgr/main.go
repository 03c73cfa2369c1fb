package main

import (
	"net"

	"postern/pkg/service"
)

func main() {
	service.Main("qmgr", service.Options{Resident: true}, func(e *service.Env) (func(net.Conn), error) {
		q, err := newQmgr(e.Config, e.Log)
		if err != nil {
			return nil, err
		}
		go q.run(service.SignalContext())
		return q.handleTrigger, nil
	})
}
