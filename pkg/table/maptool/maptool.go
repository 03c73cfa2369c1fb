// Package maptool is the body of postmap(1), postalias(1) and newaliases(1): one engine, two
// source syntaxes (postmap's "key value", aliases(5)'s "name: value").
package maptool

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"postern/pkg/aliases"
	"postern/pkg/config"
	"postern/pkg/header"
	"postern/pkg/printable"
	"postern/pkg/table"
)

// Mode selects the program.
type Mode int

const (
	Postmap Mode = iota
	Postalias
)

type fatal struct{}

type tool struct {
	prog           string
	mode           Mode
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

func (t *tool) warnf(format string, a ...any) {
	fmt.Fprintf(t.stderr, t.prog+": warning: "+format+"\n", a...)
}

func (t *tool) fatalf(format string, a ...any) {
	fmt.Fprintf(t.stderr, t.prog+": fatal: "+format+"\n", a...)
	panic(fatal{})
}

func (t *tool) usage() {
	if t.mode == Postalias {
		t.fatalf("usage: postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [map_type:]file...")
	}
	t.fatalf("usage: postmap [-NbfhimnoprsuUvw] [-c config_dir] [-d key] [-q key] [map_type:]file...")
}

// Run runs postmap (mode Postmap) or postalias (mode Postalias) with args (without the
// program name) and returns the exit status.
func Run(mode Mode, args []string, stdin io.Reader, stdout, stderr io.Writer) (status int) {
	t := &tool{prog: "postmap", mode: mode, stdin: stdin, stdout: stdout, stderr: stderr, fold: true}
	if mode == Postalias {
		t.prog = "postalias"
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fatal); !ok {
				panic(r)
			}
			status = 1
		}
	}()
	t.parse(args)
	c, err := config.Load(config.Dir(t.confDir))
	if err != nil {
		t.fatalf("%v", err)
	}
	t.defType = c.Get("default_database_type")
	if t.defType == "" {
		t.defType = "hash"
	}
	switch {
	case t.doQuery && t.doDelete:
		t.usage()
	case t.doQuery && t.dump:
		t.usage()
	case t.doQuery:
		return t.runQuery()
	case t.doDelete:
		return t.runDelete()
	case t.dump:
		return t.runDump()
	}
	for _, f := range t.files {
		t.build(f)
	}
	return 0
}

// parse is getopt over "Nbc:d:fhimnopq:rsuUvwF".
func (t *tool) parse(args []string) {
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			optarg := func() string {
				if j+1 < len(a) {
					v := a[j+1:]
					j = len(a)
					return v
				}
				i++
				if i >= len(args) {
					t.usage()
				}
				j = len(a)
				return args[i]
			}
			switch c {
			case 'c':
				t.confDir = optarg()
			case 'd':
				t.del, t.doDelete = optarg(), true
			case 'q':
				t.query, t.doQuery = optarg(), true
			case 'f':
				t.fold = false
			case 'i':
				t.incremental = true
			case 'r':
				t.dup = table.DupReplace
			case 'w':
				t.dup = table.DupIgnore
			case 'p':
				t.noInheritMode = true
			case 'o':
				t.keepOwner = true
			case 's':
				t.dump = true
			case 'b':
				t.bodies = true
			case 'h':
				t.headers = true
			case 'm':
				t.mimeMode = true
			case 'N', 'n', 'v', 'u', 'U':
				// NUL termination is not part of our format; -v and UTF-8 checks are no-ops.
			case 'F':
				t.fatalf("-F (base64 file contents) is not supported")
			default:
				t.usage()
			}
		}
	}
	t.files = args[i:]
	if len(t.files) == 0 {
		t.usage()
	}
	if (t.headers || t.bodies) && !(t.doQuery && t.query == "-") {
		t.fatalf("options -b and -h require -q -")
	}
}

func (t *tool) open(spec string) table.Table {
	tb, err := table.Open(spec, &table.Options{
		NoFold:      !t.fold,
		DefaultType: t.defType,
		Warnf:       t.warnf,
	})
	if err != nil {
		t.fatalf("%v", err)
	}
	return tb
}

// lookup does one literal lookup through the maps in order.
func lookup(maps []table.Table, key string) (string, bool, error) {
	for _, m := range maps {
		v, ok, err := m.Lookup(key)
		if err != nil || ok {
			return v, ok, err
		}
	}
	return "", false, nil
}

func (t *tool) runQuery() int {
	var maps []table.Table
	for _, f := range t.files {
		maps = append(maps, t.open(f))
	}
	if t.query != "-" {
		v, ok, err := lookup(maps, t.query)
		if err != nil {
			t.fatalf("table lookup problem: %v", err)
		}
		if !ok {
			return 1
		}
		fmt.Fprintln(t.stdout, v)
		return 0
	}
	found := false
	sep := "\t"
	if t.mode == Postalias {
		sep = ":\t"
	}
	w := bufio.NewWriter(t.stdout)
	defer w.Flush()
	err := t.keys(func(k string) {
		v, ok, err := lookup(maps, k)
		if err != nil {
			w.Flush()
			t.fatalf("table lookup problem: %v", err)
		}
		if ok {
			found = true
			fmt.Fprintf(w, "%s%s%s\n", k, sep, v)
		}
	})
	if err != nil {
		t.fatalf("read standard input: %v", err)
	}
	if found {
		return 0
	}
	return 1
}

// keys reads the keys for -q - and -d -: one per line, or with -h/-b the logical header
// lines / body lines of a message.
func (t *tool) keys(fn func(string)) error {
	br := bufio.NewReaderSize(t.stdin, 64<<10)
	inHeader := true
	var sp header.Splitter
	var hdr strings.Builder
	flushHdr := func() {
		if hdr.Len() > 0 {
			if t.headers {
				fn(hdr.String())
			}
			hdr.Reset()
		}
	}
	for {
		line, err := br.ReadString('\n')
		if line == "" && err != nil {
			if inHeader {
				flushHdr()
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case !t.headers && !t.bodies:
			if k := strings.TrimSpace(line); k != "" {
				fn(k)
			}
		case inHeader:
			// The header ends where cleanup's does (package postern/pkg/header).
			switch sp.Next([]byte(line)) {
			case header.Continuation:
				hdr.WriteString("\n" + line)
			case header.Field:
				flushHdr()
				hdr.WriteString(line)
			case header.Separator:
				flushHdr()
				inHeader = false
			default: // a line that is not a header starts the body
				flushHdr()
				inHeader = false
				if t.bodies {
					fn(line)
				}
			}
		default:
			if t.bodies {
				fn(line)
			}
		}
	}
}

func (t *tool) runDump() int {
	sep := "\t"
	if t.mode == Postalias {
		sep = ":\t"
	}
	w := bufio.NewWriter(t.stdout)
	defer w.Flush()
	for _, f := range t.files {
		tb := t.open(f)
		wk, ok := tb.(table.Walker)
		if !ok {
			t.fatalf("table %s: sequential access is not supported", f)
		}
		if err := wk.Walk(func(k, v string) error {
			_, err := fmt.Fprintf(w, "%s%s%s\n", k, sep, v)
			return err
		}); err != nil {
			t.fatalf("%s: %v", f, err)
		}
	}
	return 0
}

func (t *tool) indexed(spec string) (typ, name string) {
	typ, name, err := table.SplitSpec(spec, t.defType)
	if err != nil {
		t.fatalf("%v", err)
	}
	if !table.Indexed(typ) {
		switch typ {
		case "texthash", "inline", "static", "regexp", "pcre", "cidr", "unix":
			t.fatalf("%s:%s map requires O_RDONLY access mode", typ, name)
		}
		t.fatalf("unsupported dictionary type: %s", typ)
	}
	return typ, name
}

func (t *tool) runDelete() int {
	var keys []string
	if t.del == "-" {
		if err := t.keys(func(k string) { keys = append(keys, k) }); err != nil {
			t.fatalf("read standard input: %v", err)
		}
	} else {
		keys = []string{t.del}
	}
	found := false
	for _, f := range t.files {
		_, name := t.indexed(f)
		path := name + table.DBSuffix
		b := table.NewBuilder(t.fold, table.DupReplace)
		if err := b.Load(path); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				t.fatalf("open database %s: %s", path, printable.Strerror(err))
			}
			t.fatalf("%v", err)
		}
		changed := false
		for _, k := range keys {
			if b.Delete(k) {
				changed, found = true, true
			}
		}
		if changed {
			fi, _ := os.Stat(path)
			if err := b.Write(path, fi.Mode().Perm(), -1, -1); err != nil {
				t.fatalf("%v", err)
			}
		}
	}
	if found {
		return 0
	}
	return 1
}

// build (re)creates one table from its source file, or with -i adds stdin's entries.
func (t *tool) build(spec string) {
	_, name := t.indexed(spec)
	o := table.BuildOptions{
		NoFold:        !t.fold,
		Dup:           t.dup,
		NoInheritMode: t.noInheritMode,
		KeepRootOwner: t.keepOwner,
		Incremental:   t.incremental,
		Warnf:         t.warnf,
	}
	if t.mode == Postalias {
		// Sendmail's "alias database complete" marker.
		o.Extra = [][2]string{{"@", "@"}}
	}
	err := table.BuildFile(name, o, func(put func(k, v string)) error {
		var r io.Reader = t.stdin
		srcName := "-"
		if !t.incremental {
			f, err := os.Open(name)
			if err != nil {
				t.fatalf("open %s: %s", name, printable.Strerror(err))
			}
			defer f.Close()
			r, srcName = f, name
		}
		warn := func(s string) { t.warnf("%s", s) }
		if t.mode == Postalias {
			return aliases.ParseFile(r, srcName, func(e aliases.Entry) error {
				put(e.Name, e.Value)
				return nil
			}, warn)
		}
		return table.ParseSource(r, srcName, func(e table.Entry) error {
			put(e.Key, e.Value)
			return nil
		}, warn)
	})
	if err != nil {
		t.fatalf("%v", err)
	}
}

// Newaliases runs newaliases(1): postalias over every hash:/btree: table in alias_database.
// Flags: -c config_dir (also sendmail's -C, a main.cf path or its directory), -v, -oA file.
func Newaliases(args []string, stdout, stderr io.Writer) (status int) {
	dir := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-c" || a == "-C":
			if i+1 >= len(args) {
				fmt.Fprintln(stderr, "newaliases: fatal: usage: newaliases [-c config_dir] [-v]")
				return 1
			}
			i++
			dir = args[i]
		case strings.HasPrefix(a, "-c") || strings.HasPrefix(a, "-C"):
			dir = a[2:]
		case a == "-v" || strings.HasPrefix(a, "-o") || a == "-bi" || a == "-I":
		default:
			fmt.Fprintln(stderr, "newaliases: fatal: usage: newaliases [-c config_dir] [-v]")
			return 1
		}
	}
	if strings.HasSuffix(dir, "/main.cf") {
		dir = strings.TrimSuffix(dir, "/main.cf")
	}
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
		if st := Run(Postalias, a, strings.NewReader(""), stdout, stderr); st != 0 {
			return st
		}
	}
	return 0
}
