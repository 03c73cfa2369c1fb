// Echod is a test daemon for master's tests: it greets each client with
// "hello SERVICE PID UID GREETING" ($echod_greeting, usually set with -o) and
// echoes lines back. With the argument "fail" it exits 1 at once.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"

	"postern/pkg/service"
)

func main() {
	for _, a := range os.Args[1:] {
		if a == "fail" {
			fmt.Fprintln(os.Stderr, "echod: failing as asked")
			os.Exit(1)
		}
	}
	service.Main("echod", service.Options{}, func(e *service.Env) (func(net.Conn), error) {
		greeting := e.Config.Get("echod_greeting")
		return func(c net.Conn) {
			defer c.Close()
			fmt.Fprintf(c, "hello %s %d %d %s\n", e.Args.ServiceName, os.Getpid(), os.Getuid(), greeting)
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				fmt.Fprintf(c, "%s\n", sc.Text())
			}
		}, nil
	})
}
