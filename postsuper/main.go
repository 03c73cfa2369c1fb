package main

import (
	"os"
)

func main() {
	if os.Geteuid() != 0 {
		os.Stderr.WriteString("postsuper: fatal: use of this command is reserved for the superuser\n")
		os.Exit(1)
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stderr))
}
