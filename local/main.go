package main

import (
	"net"
	"os"

	"postern/pkg/service"
)

func main() {
	// The credentialed delivery helper (helper.go) is this same binary,
	// started by a root local with the recipient's uid and gid; it never
	// reaches service.Main.
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
