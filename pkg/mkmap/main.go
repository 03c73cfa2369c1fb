package mkmap

import (
	"bufio"
	"fmt"
	"io"

	"postern/pkg/config"
	"postern/pkg/getopt"
	"postern/pkg/table"
)

// cmd is one run of postmap or postalias: its options and where it writes.
type cmd struct {
	prog           string
	syn            Syntax
	stdin          io.Reader
	stdout, stderr io.Writer

	confDir                   string
	fold                      bool
	incremental               bool
	dup                       table.Dup
	noInheritMode, keepOwner  bool
	dump                      bool
	query, del                string
	doQuery, doDelete         bool
	headers, bodies, mimeMode bool
	files                     []string
	defType                   string
}

// fatal unwinds a run to Main, which returns status 1.
type fatal struct{}

func (c *cmd) warnf(format string, a ...any) {
	fmt.Fprintf(c.stderr, c.prog+": warning: "+format+"\n", a...)
}

func (c *cmd) fatalf(format string, a ...any) {
	fmt.Fprintf(c.stderr, c.prog+": fatal: "+format+"\n", a...)
	panic(fatal{})
}

func (c *cmd) usage() {
	if c.syn == Postalias {
		c.fatalf("usage: postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [map_type:]file...")
	}
	c.fatalf("usage: postmap [-NbfhimnoprsuUvw] [-c config_dir] [-d key] [-q key] [map_type:]file...")
}

// Main runs postmap (syn Postmap) or postalias (syn Postalias) with args (without the
// program name) and returns the exit status.
func Main(syn Syntax, args []string, stdin io.Reader, stdout, stderr io.Writer) (status int) {
	c := &cmd{prog: "postmap", syn: syn, stdin: stdin, stdout: stdout, stderr: stderr, fold: true}
	if syn == Postalias {
		c.prog = "postalias"
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fatal); !ok {
				panic(r)
			}
			status = 1
		}
	}()
	c.parse(args)
	cf, err := config.Load(config.Dir(c.confDir))
	if err != nil {
		c.fatalf("%v", err)
	}
	c.defType = cf.Get("default_database_type")
	if c.defType == "" {
		c.defType = "hash"
	}
	switch {
	case c.doQuery && c.doDelete:
		c.usage()
	case c.doQuery && c.dump:
		c.usage()
	case c.doQuery:
		return c.runQuery()
	case c.doDelete:
		return c.runDelete()
	case c.dump:
		return c.runDump()
	}
	for _, f := range c.files {
		c.build(f)
	}
	return 0
}

func (c *cmd) parse(args []string) {
	files, err := getopt.Parse(args, "Nbc:d:fhimnopq:rsuUvwF", func(opt byte, arg string) error {
		switch opt {
		case 'c':
			c.confDir = arg
		case 'd':
			c.del, c.doDelete = arg, true
		case 'q':
			c.query, c.doQuery = arg, true
		case 'f':
			c.fold = false
		case 'i':
			c.incremental = true
		case 'r':
			c.dup = table.DupReplace
		case 'w':
			c.dup = table.DupIgnore
		case 'p':
			c.noInheritMode = true
		case 'o':
			c.keepOwner = true
		case 's':
			c.dump = true
		case 'b':
			c.bodies = true
		case 'h':
			c.headers = true
		case 'm':
			c.mimeMode = true
		case 'N', 'n', 'v', 'u', 'U':
			// NUL termination is not part of our format; -v and UTF-8 checks are no-ops.
		case 'F':
			c.fatalf("-F (base64 file contents) is not supported")
		}
		return nil
	})
	if err != nil || len(files) == 0 {
		c.usage()
	}
	c.files = files
	if (c.headers || c.bodies) && !(c.doQuery && c.query == "-") {
		c.fatalf("options -b and -h require -q -")
	}
}

func (c *cmd) open(spec string) table.Table {
	tb, err := table.Open(spec, &table.Options{
		NoFold:      !c.fold,
		DefaultType: c.defType,
		Warnf:       c.warnf,
	})
	if err != nil {
		c.fatalf("%v", err)
	}
	return tb
}

// lookupError is a table's failure during -q -, told apart from standard input's.
type lookupError struct{ err error }

func (e lookupError) Error() string { return "table lookup problem: " + e.err.Error() }

func (c *cmd) runQuery() int {
	var maps []table.Table
	for _, f := range c.files {
		maps = append(maps, c.open(f))
	}
	if c.query != "-" {
		v, ok, err := Lookup(maps, c.query)
		if err != nil {
			c.fatalf("table lookup problem: %v", err)
		}
		if !ok {
			return 1
		}
		fmt.Fprintln(c.stdout, v)
		return 0
	}
	found := false
	w := bufio.NewWriter(c.stdout)
	defer w.Flush()
	err := Keys(c.stdin, c.headers, c.bodies, func(k string) error {
		v, ok, err := Lookup(maps, k)
		if err != nil {
			return lookupError{err}
		}
		if ok {
			found = true
			fmt.Fprintf(w, "%s%s%s\n", k, c.syn.sep(), v)
		}
		return nil
	})
	if err != nil {
		w.Flush()
		if le, ok := err.(lookupError); ok {
			c.fatalf("%v", le)
		}
		c.fatalf("read standard input: %v", err)
	}
	if found {
		return 0
	}
	return 1
}

func (c *cmd) runDump() int {
	w := bufio.NewWriter(c.stdout)
	defer w.Flush()
	for _, f := range c.files {
		if err := Dump(w, c.syn, f, c.open(f)); err != nil {
			w.Flush()
			c.fatalf("%v", err)
		}
	}
	return 0
}

func (c *cmd) runDelete() int {
	keys := []string{c.del}
	if c.del == "-" {
		keys = nil
		if err := Keys(c.stdin, false, false, func(k string) error {
			keys = append(keys, k)
			return nil
		}); err != nil {
			c.fatalf("read standard input: %v", err)
		}
	}
	found := false
	for _, f := range c.files {
		name, err := Writable(f, c.defType)
		if err != nil {
			c.fatalf("%v", err)
		}
		ok, err := Delete(name, c.fold, keys)
		if err != nil {
			c.fatalf("%v", err)
		}
		found = found || ok
	}
	if found {
		return 0
	}
	return 1
}

// build (re)creates one table from its source file, or with -i adds stdin's entries.
func (c *cmd) build(spec string) {
	name, err := Writable(spec, c.defType)
	if err != nil {
		c.fatalf("%v", err)
	}
	err = Build(name, c.syn, table.BuildOptions{
		NoFold:        !c.fold,
		Dup:           c.dup,
		NoInheritMode: c.noInheritMode,
		KeepRootOwner: c.keepOwner,
		Incremental:   c.incremental,
		Warnf:         c.warnf,
	}, c.stdin)
	if err != nil {
		c.fatalf("%v", err)
	}
}
