package main

import (
	"io"
	"os"

	"postern/pkg/table/maptool"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return maptool.Run(maptool.Postalias, args, stdin, stdout, stderr)
}
