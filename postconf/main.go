package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"postern/pkg/atomicfile"
	"postern/pkg/config"
	"postern/pkg/getopt"
	"postern/pkg/printable"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = "usage: postconf [-c config_dir] [-d] [-e] [-f] [-F] [-h] [-H] [-M] [-n] [-o name=value] [-P] [-x] [-X] [-#] [name...] [name=value...]"

// Option bits, as Postfix's postconf keeps them, for its compatibility checks.
const (
	optD      = 1 << iota // -d
	optE                  // -e (or implied by name=value)
	optF                  // -f
	optFields             // -F
	optH                  // -h
	optHH                 // -H
	optM                  // -M
	optN                  // -n
	optO                  // -o
	optP                  // -p (main.cf, the default)
	optParams             // -P
	optX                  // -x
	optXX                 // -X
	optHash               // -#
)

// optNames lists the options in the order Postfix names them in its complaints.
var optNames = []struct {
	bit  int
	name string
}{{optD, "-d"}, {optE, "-e"}, {optF, "-f"}, {optFields, "-F"}, {optH, "-h"}, {optHH, "-H"},
	{optM, "-M"}, {optN, "-n"}, {optO, "-o"}, {optP, "-p"}, {optParams, "-P"}, {optX, "-x"},
	{optXX, "-X"}, {optHash, "-#"}}

func optString(bits int) string {
	var names []string
	for _, n := range optNames {
		if bits&n.bit != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, " ")
}

const editOpts = optE | optXX | optHash

// incompatible: at most one option of each set (the first set: the major modes).
var incompatible = []int{
	optP | optM | optFields | optParams,
	optD | optE | optN | optHash | optXX,
	optF | editOpts,
	optX | editOpts,
	optO | optD | editOpts,
	optH | editOpts | optHH,
}

// compatible: a major mode and the only modifiers it takes.
var compatible = [][2]int{
	{optP, editOpts | optF | optH | optX | optD | optN | optO | optHH},
	{optM, editOpts | optF | optO | optX},
	{optFields, optE | optF | optH | optO | optX | optHH},
	{optParams, optE | optXX | optF | optH | optO | optX | optHH},
}

type options struct {
	dir              string
	bits             int
	defaults         bool // -d
	nonDefault       bool // -n
	valueOnly        bool // -h
	nameOnly         bool // -H
	expand           bool // -x
	edit             bool // -e
	remove           bool // -X
	commentOut       bool // -#
	fold             bool // -f
	overrides        [][2]string
	args             []string
	stdout, stderr   io.Writer
	fatalf, warningf func(format string, a ...any)
}

type fatalError struct{}

// run is the whole program; main only wires it to the process. It returns the exit status.
func run(args []string, stdout, stderr io.Writer) (status int) {
	o := &options{stdout: stdout, stderr: stderr}
	o.warningf = func(format string, a ...any) {
		fmt.Fprintf(stderr, "postconf: warning: "+format+"\n", a...)
	}
	o.fatalf = func(format string, a ...any) {
		fmt.Fprintf(stderr, "postconf: fatal: "+format+"\n", a...)
		panic(fatalError{})
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fatalError); !ok {
				panic(r)
			}
			status = 1
		}
	}()
	o.parseFlags(args)
	dir := config.Dir(o.dir)
	o.dir = dir

	master := o.bits & (optM | optFields | optParams)
	switch {
	case master != 0 && o.bits&editOpts == 0:
		o.showMaster(master)
	case master != 0:
		o.editMaster(master)
	case o.remove || o.commentOut:
		o.editMain(nil)
	case o.edit:
		var edits [][2]string
		for _, a := range o.args {
			n, v, err := config.SplitNameValue(a)
			if err != nil {
				o.fatalf("%v", err)
			}
			edits = append(edits, [2]string{n, v})
		}
		o.editMain(edits)
	default:
		o.show()
	}
	return 0
}

func (o *options) parseFlags(args []string) {
	rest, err := getopt.Parse(args, "c:o:dnhHxeX#MFPpfv", func(c byte, v string) error {
		switch c {
		case 'c':
			o.dir = v
		case 'o':
			n, val, err := config.SplitNameValue(v)
			if err != nil {
				o.fatalf("%v", err)
			}
			o.overrides = append(o.overrides, [2]string{n, val})
			o.bits |= optO
		case 'd':
			o.bits |= optD
		case 'n':
			o.bits |= optN
		case 'h':
			o.bits |= optH
		case 'H':
			o.bits |= optHH
		case 'x':
			o.bits |= optX
		case 'e':
			o.bits |= optE
		case 'X':
			o.bits |= optXX
		case '#':
			o.bits |= optHash
		case 'M':
			o.bits |= optM
		case 'F':
			o.bits |= optFields
		case 'P':
			o.bits |= optParams
		case 'p':
			o.bits |= optP
		case 'f':
			o.bits |= optF
		case 'v':
			// -v (verbose) is accepted and ignored.
		}
		return nil
	})
	if err != nil {
		o.fatalf("%v\n%s", err, usage)
	}
	o.args = rest
	if o.bits&incompatible[0] == 0 {
		o.bits |= optP
	}
	if len(o.args) > 0 && strings.Contains(o.args[0], "=") {
		o.bits |= optE // implied since Postfix 2.8
	}
	for _, set := range incompatible {
		if b := o.bits & set; b&(b-1) != 0 {
			o.fatalf("specify one of %s", optString(b))
		}
	}
	for _, c := range compatible {
		if o.bits&c[0] != 0 {
			if excess := o.bits &^ (c[0] | c[1]); excess != 0 {
				o.fatalf("with option %s, do not specify %s", optString(c[0]), optString(excess))
			}
		}
	}
	if o.bits&optE != 0 && len(o.args) == 0 {
		o.fatalf("-e requires name=value argument")
	}
	if o.bits&(optXX|optHash) != 0 && len(o.args) == 0 {
		o.fatalf("missing service argument")
	}
	o.defaults = o.bits&optD != 0
	o.nonDefault = o.bits&optN != 0
	o.valueOnly = o.bits&optH != 0
	o.nameOnly = o.bits&optHH != 0
	o.expand = o.bits&optX != 0
	o.edit = o.bits&optE != 0
	o.remove = o.bits&optXX != 0
	o.commentOut = o.bits&optHash != 0
	o.fold = o.bits&optF != 0
}

func (o *options) mainPath() string { return strings.TrimSuffix(o.dir, "/") + "/main.cf" }

func (o *options) load() *config.Config {
	c, err := config.Load(o.dir)
	if err != nil {
		o.fatalf("%v", err)
	}
	for _, w := range c.Warnings() {
		o.warningf("%s, %s", o.mainPath(), w)
	}
	for _, kv := range o.overrides {
		c.Override(kv[0], kv[1])
	}
	return c
}

func (o *options) print(name, value string) {
	switch {
	case o.valueOnly && o.nameOnly:
		fmt.Fprintln(o.stdout, name)
	case o.valueOnly:
		fmt.Fprintln(o.stdout, value)
	case o.nameOnly:
		fmt.Fprintln(o.stdout, name)
	case value == "":
		fmt.Fprintf(o.stdout, "%s =\n", name)
	default:
		fmt.Fprintf(o.stdout, "%s = %s\n", name, value)
	}
}

// show implements the display modes (no -e/-X/-#/-M).
func (o *options) show() {
	var c *config.Config
	if o.defaults {
		c, _ = config.Parse(strings.NewReader(""))
		c.SetDir(o.dir)
	} else {
		c = o.load()
		o.warnUnused(c)
	}
	names := o.args
	explicit := len(names) > 0
	if !explicit {
		switch {
		case o.nonDefault:
			names = c.SetNames()
		case o.defaults:
			names = config.KnownNames()
		default:
			unused := map[string]bool{}
			for _, n := range unusedParams(c, o.masterServices(c)) {
				unused[n] = true
			}
			for _, n := range c.Names() {
				if !unused[n] {
					names = append(names, n)
				}
			}
		}
	}
	for _, name := range names {
		var raw string
		var ok bool
		switch {
		case o.defaults:
			raw, ok = c.Default(name)
		case o.nonDefault:
			raw, ok = c.Raw(name)
			if !ok && explicit && config.Known(name) {
				continue // -n name: only when set
			}
		default:
			raw, ok = c.RawOrDefault(name)
		}
		if !ok {
			o.warningf("%s: unknown parameter", name)
			continue
		}
		if o.expand {
			raw = c.Expand(raw)
		}
		o.print(name, raw)
	}
}

func (o *options) masterServices(c *config.Config) []config.Service {
	s, err := config.LoadMaster(o.dir, c)
	if err != nil {
		return nil
	}
	return s
}

// unusedParams returns the main.cf parameters that are not built in, not referenced as $name
// from another main.cf or master.cf value, not named <service>_... after a master.cf service,
// and not ending in a per-transport suffix.
func unusedParams(c *config.Config, services []config.Service) []string {
	var values []string
	for _, n := range c.SetNames() {
		v, _ := c.Raw(n)
		values = append(values, v)
	}
	svc := map[string]bool{}
	for _, s := range services {
		svc[s.Name] = true
		for _, kv := range s.Overrides {
			values = append(values, kv[1])
		}
	}
	refs := map[string]bool{}
	for _, v := range values {
		for _, r := range references(v) {
			refs[r] = true
		}
	}
	var out []string
	for _, n := range c.SetNames() {
		if !c.InFile(n) || config.Known(n) || refs[n] {
			continue
		}
		if hasPerTransportSuffix(n) {
			continue
		}
		if i := strings.IndexByte(n, '_'); i > 0 && svc[n[:i]] {
			continue
		}
		matched := false
		for s := range svc {
			if strings.HasPrefix(n, s+"_") {
				matched = true
				break
			}
		}
		if !matched {
			out = append(out, n)
		}
	}
	return out
}

func hasPerTransportSuffix(n string) bool {
	for _, s := range config.PerTransportSuffixes {
		if strings.HasSuffix(n, s) && len(n) > len(s) {
			return true
		}
	}
	return false
}

// references returns the parameter names that value refers to with $name, ${name...} or
// $(name...).
func references(v string) []string {
	var out []string
	for i := 0; i < len(v); i++ {
		if v[i] != '$' || i+1 >= len(v) {
			continue
		}
		j := i + 1
		if v[j] == '$' {
			i = j
			continue
		}
		if v[j] == '{' || v[j] == '(' {
			j++
		}
		k := j
		for k < len(v) && (v[k] == '_' || v[k] >= 'a' && v[k] <= 'z' || v[k] >= 'A' && v[k] <= 'Z' || v[k] >= '0' && v[k] <= '9') {
			k++
		}
		if k > j {
			out = append(out, v[j:k])
		}
	}
	return out
}

func (o *options) warnUnused(c *config.Config) {
	for _, n := range unusedParams(c, o.masterServices(c)) {
		v, _ := c.Raw(n)
		o.warningf("%s: unused parameter: %s=%s", o.mainPath(), n, v)
	}
}

// editMain rewrites main.cf: with edits, every occurrence of an edited parameter is replaced
// by "name = value" (its continuation lines removed) and parameters not found are appended;
// otherwise (-X / -#) the named parameters are deleted or commented out, continuation lines
// included. Comments, blank lines and the order of everything else are kept. The new file is
// written to a temporary file in the same directory, fsynced and renamed over main.cf.
func (o *options) editMain(edits [][2]string) {
	table := map[string]string{}
	var order []string
	if edits != nil {
		for _, kv := range edits {
			if !config.ValidName(kv[0]) {
				o.fatalf("invalid parameter name: %q", kv[0])
			}
			if strings.ContainsAny(kv[1], "\n\r") {
				o.fatalf("%s: parameter value must not contain a newline", kv[0])
			}
			if _, dup := table[kv[0]]; !dup {
				order = append(order, kv[0])
			}
			table[kv[0]] = kv[1]
		}
	} else {
		if len(o.args) == 0 {
			o.fatalf("%s requires parameter names", map[bool]string{true: "-X", false: "-#"}[o.remove])
		}
		for _, a := range o.args {
			if strings.Contains(a, "=") {
				o.fatalf("%s option: parameter name must not contain '=': %q", map[bool]string{true: "-X", false: "-#"}[o.remove], a)
			}
			table[strings.TrimSpace(a)] = ""
		}
	}
	if len(table) == 0 {
		return
	}

	o.rewrite(o.mainPath(), func(old []byte, exists bool) []byte {
		out := editText(old, table, order, edits != nil, o.commentOut)
		if !exists && edits == nil {
			return nil // nothing to delete from a missing main.cf
		}
		return out
	})
}

// rewrite replaces a configuration file under an exclusive lock on the configuration
// directory (the file itself is replaced, so it cannot carry the lock). edit gets the old
// text and returns the new one, or nil to leave the file alone; a new text equal to the old
// one is not written. The file keeps its mode and, for root, its owner.
func (o *options) rewrite(path string, edit func(old []byte, exists bool) []byte) {
	dirf, err := os.Open(o.dir)
	if err != nil {
		o.fatalf("open %s: %v", o.dir, printable.Strerror(err))
	}
	defer dirf.Close()
	if err := syscall.Flock(int(dirf.Fd()), syscall.LOCK_EX); err != nil {
		o.fatalf("lock %s: %v", o.dir, printable.Strerror(err))
	}
	defer syscall.Flock(int(dirf.Fd()), syscall.LOCK_UN)

	old, err := os.ReadFile(path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		o.fatalf("open %s: %v", path, printable.Strerror(err))
	}
	out := edit(old, exists)
	if out == nil || exists && bytes.Equal(out, old) {
		return
	}
	mode := fs.FileMode(0644)
	uid, gid := -1, -1
	if exists {
		if st, err := os.Stat(path); err == nil {
			mode = st.Mode().Perm()
			if sys, ok := st.Sys().(*syscall.Stat_t); ok {
				uid, gid = int(sys.Uid), int(sys.Gid)
			}
		}
	}
	if err := writeAtomic(path, out, mode, uid, gid); err != nil {
		o.fatalf("%v", err)
	}
}

// editText applies the edit to main.cf text. set: "name = value" replacement (table holds the
// values, order the names to append when not found); otherwise delete, or comment out when
// comment is true.
func editText(old []byte, table map[string]string, order []string, set, comment bool) []byte {
	var b bytes.Buffer
	found := map[string]bool{}
	interesting := false
	rest := old
	for len(rest) > 0 {
		var line []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			line, rest = rest, nil
		}
		content := bytes.TrimRight(line, "\r\n")
		t := bytes.TrimLeft(content, " \t\v\f\r")
		if len(t) == 0 || t[0] == '#' {
			b.Write(line)
			continue
		}
		if len(t) != len(content) { // continuation line
			switch {
			case !interesting:
				b.Write(line)
			case comment:
				b.WriteByte('#')
				b.Write(line)
			}
			continue
		}
		key := string(content[:keyLen(content)])
		_, interesting = table[key]
		switch {
		case !interesting:
			b.Write(line)
		case set:
			fmt.Fprintf(&b, "%s = %s\n", key, table[key])
			found[key] = true
		case comment:
			b.WriteByte('#')
			b.Write(line)
		}
	}
	if set {
		for _, n := range order {
			if found[n] {
				continue
			}
			if b.Len() > 0 && !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "%s = %s\n", n, table[n])
		}
	}
	return b.Bytes()
}

func keyLen(s []byte) int {
	for i, c := range s {
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '=' {
			return i
		}
	}
	return len(s)
}

// writeAtomic replaces path with data (pkg/atomicfile), giving it mode and, for root, the
// owner uid/gid (-1: none known).
func writeAtomic(path string, data []byte, mode fs.FileMode, uid, gid int) error {
	err := atomicfile.WriteFile(path, data, atomicfile.Options{Mode: mode,
		Chown: uid >= 0 && os.Geteuid() == 0, UID: uid, GID: gid})
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &le):
		return fmt.Errorf("%s %s to %s: %v", le.Op, le.Old, le.New, printable.Strerror(le.Err))
	case errors.As(err, &pe) && pe.Op == "createtemp":
		return fmt.Errorf("create temporary file in %s: %v", filepath.Dir(path), printable.Strerror(pe.Err))
	case errors.As(err, &pe) && pe.Op == "sync":
		return fmt.Errorf("fsync %s: %v", pe.Path, printable.Strerror(pe.Err))
	case errors.As(err, &pe):
		return fmt.Errorf("%s %s: %v", pe.Op, pe.Path, printable.Strerror(pe.Err))
	}
	return err
}
