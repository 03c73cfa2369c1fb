package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"postern/pkg/config"
	"postern/pkg/printable"
)

func (o *options) masterPath() string { return filepath.Join(o.dir, "master.cf") }

// masterFatal reports a master.cf parse error as postconf does: field value errors on
// their own, others with the file and line.
func (o *options) masterFatal(err error) {
	if line, ok := config.MasterLineError(err); ok {
		o.fatalf("file %s: line %d: %v", o.masterPath(), line, err)
	}
	o.fatalf("%v", err)
}

// readMaster reads every master.cf entry; a missing file is fatal.
func (o *options) readMaster() []config.MasterEntry {
	f, err := os.Open(o.masterPath())
	if err != nil {
		o.fatalf("open %s: %v", o.masterPath(), printable.Strerror(err))
	}
	defer f.Close()
	entries, err := config.ParseMasterEntries(f)
	if err != nil {
		o.masterFatal(err)
	}
	return entries
}

// masterRequest is one command-line selector of -M, -F or -P.
type masterRequest struct {
	raw     string
	pattern config.ServicePattern
	field   int // -F: field number, -1 for all
	matches int
}

// showMaster implements the display modes -M (entries), -F (fields) and -P (parameters),
// with optional service/type[/field or parameter] selectors; "*" matches anything and
// missing trailing parts are "*". A selector that matches nothing is a warning.
func (o *options) showMaster(kind int) {
	c := o.load()
	entries := o.readMaster()
	parts, what := 2, "-M option requires service_name[/type]"
	switch kind {
	case optFields:
		parts, what = 3, "-F option requires service_name[/type[/field]]"
	case optParams:
		parts, what = 3, "-P option requires service_name[/type[/parameter]]"
	}
	var reqs []*masterRequest
	for _, a := range o.args {
		p, ok := config.ParseServicePattern(a, 1, parts)
		if !ok {
			o.fatalf("%s", what)
		}
		r := &masterRequest{raw: a, pattern: p}
		if kind == optFields {
			f, err := config.MasterFieldNumber(p[2])
			if err != nil {
				o.fatalf("%v", err)
			}
			r.field = f
		}
		reqs = append(reqs, r)
	}
	if len(reqs) == 0 {
		reqs = []*masterRequest{{pattern: config.ServicePattern{"*", "*", "*"}, field: -1}}
	}
	for _, e := range entries {
		for _, r := range reqs {
			if !r.pattern.Match(e.Name(), e.Type()) {
				continue
			}
			switch kind {
			case optM:
				r.matches++
				fmt.Fprintln(o.stdout, o.expandEntry(c, e).Format(o.fold))
			case optFields:
				r.matches++
				e := o.expandEntry(c, e)
				for f := 0; f < len(config.MasterFieldNames); f++ {
					if r.field < 0 || r.field == f {
						fmt.Fprintln(o.stdout, e.FormatField(f, o.valueOnly, o.nameOnly, o.fold))
					}
				}
			case optParams:
				for _, kv := range e.Params() {
					if r.pattern[2] != "*" && r.pattern[2] != kv[0] {
						continue
					}
					r.matches++
					if o.expand {
						kv[1] = entryConfig(c, e).Expand(kv[1])
					}
					o.printParam(e, kv[0], kv[1])
				}
			}
		}
	}
	for _, r := range reqs {
		if r.raw != "" && r.matches == 0 {
			o.warningf("unmatched request: \"%s\"", r.raw)
		}
	}
}

func (o *options) printParam(e config.MasterEntry, name, value string) {
	key := e.Name() + "/" + e.Type() + "/" + name
	switch {
	case o.nameOnly:
		fmt.Fprintln(o.stdout, key)
	case o.valueOnly:
		fmt.Fprintln(o.stdout, value)
	default:
		fmt.Fprintf(o.stdout, "%s = %s\n", key, value)
	}
}

// entryConfig is main.cf as the service sees it: with its -o settings.
func entryConfig(c *config.Config, e config.MasterEntry) *config.Config {
	sc := c.Clone()
	for _, kv := range e.Params() {
		sc.Override(kv[0], kv[1])
	}
	return sc
}

// expandEntry expands $name in the -o values for -x.
func (o *options) expandEntry(c *config.Config, e config.MasterEntry) config.MasterEntry {
	if !o.expand {
		return e
	}
	sc := entryConfig(c, e)
	out := config.MasterEntry{Argv: append([]string(nil), e.Argv...), Line: e.Line}
	for i := 8; i+1 < len(out.Argv); i++ {
		a := out.Argv[i]
		if a == "" || a[0] != '-' || a == "--" {
			break
		}
		if a == "-o" {
			n, v, _ := strings.Cut(out.Argv[i+1], "=")
			out.Argv[i+1] = n + "=" + sc.Expand(v)
			i++
		}
	}
	return out
}

// editMaster implements -Me, -MX, -M#, -Fe, -Pe and -PX on master.cf (see
// config.EditMaster), replacing the file atomically under the directory lock.
func (o *options) editMaster(kind int) {
	k := map[int]byte{optM: config.EditEntries, optFields: config.EditFields, optParams: config.EditParams}[kind]
	op := byte(config.EditSet)
	switch {
	case o.remove:
		op = config.EditRemove
	case o.commentOut:
		op = config.EditComment
	}
	path := o.masterPath()
	o.rewrite(path, func(old []byte, exists bool) []byte {
		if !exists {
			o.fatalf("open %s for reading: %v", path, printable.Strerror(syscall.ENOENT))
		}
		out, warnings, err := config.EditMaster(old, k, op, o.args)
		if err != nil {
			o.masterFatal(err)
		}
		for _, w := range warnings {
			o.warningf("%s", w)
		}
		return out
	})
}
