// Package mkmap builds, queries, dumps and edits table files, as Postfix's src/global mkmap
// and the engine of its postmap and postalias: one engine, two source syntaxes (postmap's
// "key value", aliases(5)'s "name: value"). It sits above pkg/table and pkg/aliases, which
// never import it. Main is the shared command line of postmap(1) and postalias(1); newaliases(1)
// calls it for each alias_database table.
package mkmap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"postern/pkg/aliases"
	"postern/pkg/header"
	"postern/pkg/printable"
	"postern/pkg/table"
)

// Syntax is a source file's format, which is also the program's: postmap or postalias.
type Syntax int

const (
	Postmap   Syntax = iota // "key value" lines, table(5)
	Postalias               // "name: value" lines, aliases(5)
)

// sep is what separates key and value in -q - and -s output.
func (s Syntax) sep() string {
	if s == Postalias {
		return ":\t"
	}
	return "\t"
}

// Lookup does one literal lookup through maps in order; the first map that has key wins.
func Lookup(maps []table.Table, key string) (string, bool, error) {
	for _, m := range maps {
		v, ok, err := m.Lookup(key)
		if err != nil || ok {
			return v, ok, err
		}
	}
	return "", false, nil
}

// Keys reads the keys for -q - and -d - from r: one per line, or with headers/bodies the
// logical header lines / body lines of a message. It stops at fn's first error.
func Keys(r io.Reader, headers, bodies bool, fn func(string) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	inHeader := true
	var sp header.Splitter
	var hdr strings.Builder
	flushHdr := func() error {
		if hdr.Len() == 0 {
			return nil
		}
		k := hdr.String()
		hdr.Reset()
		if headers {
			return fn(k)
		}
		return nil
	}
	for {
		line, err := br.ReadString('\n')
		if line == "" && err != nil {
			if inHeader {
				if ferr := flushHdr(); ferr != nil {
					return ferr
				}
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		var ferr error
		switch {
		case !headers && !bodies:
			if k := strings.TrimSpace(line); k != "" {
				ferr = fn(k)
			}
		case inHeader:
			// The header ends where cleanup's does (package postern/pkg/header).
			switch sp.Next([]byte(line)) {
			case header.Continuation:
				hdr.WriteString("\n" + line)
			case header.Field:
				ferr = flushHdr()
				hdr.WriteString(line)
			case header.Separator:
				ferr = flushHdr()
				inHeader = false
			default: // a line that is not a header starts the body
				ferr = flushHdr()
				inHeader = false
				if ferr == nil && bodies {
					ferr = fn(line)
				}
			}
		case bodies:
			ferr = fn(line)
		}
		if ferr != nil {
			return ferr
		}
	}
}

// Dump writes every entry of tb (opened from spec) to w, one "key<sep>value" line each.
func Dump(w io.Writer, syn Syntax, spec string, tb table.Table) error {
	wk, ok := tb.(table.Walker)
	if !ok {
		return fmt.Errorf("table %s: sequential access is not supported", spec)
	}
	if err := wk.Walk(func(k, v string) error {
		_, err := fmt.Fprintf(w, "%s%s%s\n", k, syn.sep(), v)
		return err
	}); err != nil {
		return fmt.Errorf("%s: %v", spec, err)
	}
	return nil
}

// Writable checks that spec names a table type mkmap can write (an indexed file) and returns
// its source file name; Postfix's words for the types it cannot.
func Writable(spec, defType string) (string, error) {
	typ, name, err := table.SplitSpec(spec, defType)
	if err != nil {
		return "", err
	}
	if !table.Indexed(typ) {
		switch typ {
		case "texthash", "inline", "static", "regexp", "pcre", "cidr", "unix":
			return "", fmt.Errorf("%s:%s map requires O_RDONLY access mode", typ, name)
		}
		return "", fmt.Errorf("unsupported dictionary type: %s", typ)
	}
	return name, nil
}

// Delete removes keys from the table file built from name; found reports whether any was
// there. The file keeps its mode.
func Delete(name string, fold bool, keys []string) (found bool, err error) {
	path := name + table.DBSuffix
	b := table.NewBuilder(fold, table.DupReplace)
	if err := b.Load(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("open database %s: %s", path, printable.Strerror(err))
		}
		return false, err
	}
	for _, k := range keys {
		if b.Delete(k) {
			found = true
		}
	}
	if !found {
		return false, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return true, err
	}
	return true, b.Write(path, fi.Mode().Perm(), -1, -1)
}

// Build (re)creates the table file of source file name in syntax syn, or with o.Incremental
// adds the entries read from stdin.
func Build(name string, syn Syntax, o table.BuildOptions, stdin io.Reader) error {
	if syn == Postalias {
		// Sendmail's "alias database complete" marker.
		o.Extra = append(o.Extra, [2]string{"@", "@"})
	}
	warn := func(s string) {
		if o.Warnf != nil {
			o.Warnf("%s", s)
		}
	}
	return table.BuildFile(name, o, func(put func(k, v string)) error {
		r, srcName := stdin, "-"
		if !o.Incremental {
			f, err := os.Open(name)
			if err != nil {
				return fmt.Errorf("open %s: %s", name, printable.Strerror(err))
			}
			defer f.Close()
			r, srcName = f, name
		}
		if syn == Postalias {
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
}
