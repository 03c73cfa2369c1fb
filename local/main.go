package main

import (
	"net"
	"os"

	"postern/pkg/service"
)

func main() {
	// The credentialed child (child.go) and helper (helper.go) are this
	// same binary, started by a root local with the recipient's uid and
	// gid; they never reach service.Main.
	if len(os.Args) > 1 && os.Args[1] == childFlag {
		os.Exit(childMain())
	}
	if len(os.Args) > 1 && os.Args[1] == helperFlag {
		os.Exit(helperMain())
	}
	service.Main("local", service.Options{}, func(e *service.Env) (func(net.Conn), error) {
		s, err := newServer(e.Config, e.Log)
		if err != nil {
			return nil, err
		}
		return s.serve, nil
	})
}
