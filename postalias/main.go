package main

import (
	"os"

	"postern/pkg/mkmap"
)

// The command line, the table formats and the messages are package mkmap's.
func main() {
	os.Exit(mkmap.Main(mkmap.Postalias, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
