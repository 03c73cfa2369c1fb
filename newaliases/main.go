package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"postern/pkg/config"
	"postern/pkg/getopt"
	"postern/pkg/mkmap"
	"postern/pkg/table"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = "newaliases: fatal: usage: newaliases [-c config_dir] [-v]"

// run is the whole program; it returns the exit status. It runs postalias over every hash:/btree:
// table in alias_database. Flags: -c config_dir (also sendmail's -C, a main.cf path or its
// directory), -v, sendmail's -bi, -I and -oX (ignored).
func run(args []string, stdout, stderr io.Writer) int {
	dir := ""
	rest, err := getopt.Parse(args, "c:C:vo:b:I", func(opt byte, arg string) error {
		switch opt {
		case 'c', 'C':
			dir = arg
		case 'b':
			if arg != "i" {
				return fmt.Errorf("-b%s", arg)
			}
		}
		return nil
	})
	if err != nil || len(rest) > 0 {
		fmt.Fprintln(stderr, usage)
		return 1
	}
	dir = strings.TrimSuffix(dir, "/main.cf")
	c, err := config.Load(config.Dir(dir))
	if err != nil {
		fmt.Fprintf(stderr, "newaliases: fatal: %v\n", err)
		return 1
	}
	for _, spec := range c.List("alias_database") {
		typ, _, err := table.SplitSpec(spec, c.Get("default_database_type"))
		if err != nil || !table.Indexed(typ) {
			fmt.Fprintf(stderr, "newaliases: warning: %s: not rebuilt: only hash: and btree: tables are built\n", spec)
			continue
		}
		a := []string{spec}
		if dir != "" {
			a = append([]string{"-c", dir}, a...)
		}
		// Postfix runs postalias; its messages carry postalias's name.
		if st := mkmap.Main(mkmap.Postalias, a, strings.NewReader(""), stdout, stderr); st != 0 {
			return st
		}
	}
	return 0
}
