package config

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
)

// This file is master.cf as postconf(1) sees it: entries as argument vectors in Postfix's
// normalized form, printed and edited the way Postfix 3.7's postconf does (-M, -F, -P and
// their -e, -X, -# edits). Unlike ParseMaster, nothing is resolved: "-" stays "-".

// Master.cf field numbers and the names postconf -F uses for them.
const (
	FieldService = iota
	FieldType
	FieldPrivate
	FieldUnpriv
	FieldChroot
	FieldWakeup
	FieldMaxProc
	FieldCommand
	masterMinFields = 8
)

// MasterFieldNames are the -F field names, indexed by field number.
var MasterFieldNames = [masterMinFields]string{"service", "type", "private", "unprivileged", "chroot",
	"wakeup", "process_limit", "command"}

// MasterFieldNumber returns the field number of a -F field name; "*" is -1.
func MasterFieldNumber(name string) (int, error) {
	if name == "*" {
		return -1, nil
	}
	for i, n := range MasterFieldNames {
		if n == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("invalid service attribute name: %q", name)
}

// MasterEntry is one master.cf entry: the eight fields, then the command's arguments, with
// "{ text }" unwrapped and "-oname=value" / "-o { name = value }" as "-o", "name=value".
type MasterEntry struct {
	Argv []string
	Line int // line number of the entry in master.cf (0 when built from a command line)
}

// Name and Type are the service name and type.
func (e MasterEntry) Name() string { return e.Argv[0] }
func (e MasterEntry) Type() string { return e.Argv[1] }

// ParseMasterEntry parses the text of one (logical) master.cf entry, checking the fields as
// postconf does.
func ParseMasterEntry(text string) (MasterEntry, error) {
	words, err := splitMasterWords(text)
	if err != nil {
		return MasterEntry{}, err
	}
	if len(words) < masterMinFields {
		return MasterEntry{}, fmt.Errorf("bad field count")
	}
	e := MasterEntry{Argv: words}
	if err := e.check(text); err != nil {
		return MasterEntry{}, err
	}
	e.normalize()
	return e, nil
}

// ParseMasterEntries reads every entry of master.cf text, in file order (duplicates kept).
func ParseMasterEntries(r io.Reader) ([]MasterEntry, error) {
	lines, _, err := readLogical(r)
	if err != nil {
		return nil, err
	}
	var out []MasterEntry
	for _, l := range lines {
		e, err := ParseMasterEntry(l.text)
		if err != nil {
			return nil, &lineError{l.line, err}
		}
		e.Line = l.line
		out = append(out, e)
	}
	return out, nil
}

// lineError is a parse error at a master.cf line; postconf reports the field check errors
// without the line ("invalid type field ...") and the others with it.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return e.err.Error() }
func (e *lineError) Unwrap() error { return e.err }

// MasterLineError returns the line number of an error from ParseMasterEntries and whether
// Postfix's postconf names it ("file F: line N: bad field count"); field value errors it
// reports on their own.
func MasterLineError(err error) (int, bool) {
	le, ok := err.(*lineError)
	if !ok {
		return 0, false
	}
	_, field := le.err.(fieldError)
	return le.line, !field
}

type fieldError string

func (e fieldError) Error() string { return string(e) }

var masterTypes = []string{"unix", "fifo", "inet", "pass", "unix-dgram"}

// check validates the seven columns as Postfix's postconf does; raw is quoted in the error.
func (e MasterEntry) check(raw string) error {
	raw = strings.ReplaceAll(raw, "\n", " ")
	a := e.Argv
	okType := false
	for _, t := range masterTypes {
		okType = okType || a[FieldType] == t
	}
	if !okType {
		return fieldError(fmt.Sprintf("invalid type field \"%s\" in \"%s\"", a[FieldType], raw))
	}
	for f := FieldPrivate; f <= FieldChroot; f++ {
		if v := a[f]; len(v) != 1 || !strings.Contains("yn-", v) {
			return fieldError(fmt.Sprintf("invalid %s field \"%s\" in \"%s\"", MasterFieldNames[f], v, raw))
		}
	}
	w := strings.TrimSuffix(a[FieldWakeup], "?")
	if w != "-" && !allDigits(w) {
		return fieldError(fmt.Sprintf("invalid wakeup field \"%s\" in \"%s\"", a[FieldWakeup], raw))
	}
	if p := a[FieldMaxProc]; p != "-" && !allDigits(p) {
		return fieldError(fmt.Sprintf("invalid process_limit field \"%s\" in \"%s\"", p, raw))
	}
	return nil
}

// normalize brings the command's arguments into Postfix's canonical form: among the leading
// options, "-xyoname=value" becomes "-xy", "-o", "name=value", and a braced "-o" value
// "{ name = value }" becomes "name=value"; braces around any other argument are removed.
func (e *MasterEntry) normalize() {
	a := e.Argv
	f := masterMinFields
	for ; f < len(a); f++ {
		arg := a[f]
		if arg == "" || arg[0] != '-' || arg == "--" {
			break
		}
		if i := strings.IndexByte(arg[1:], 'o'); i > 0 {
			// "-vo..." is "-v" then "-o...".
			a = insert(a, f+1, "-"+arg[i+1:])
			a[f] = arg[:i+1]
			continue
		}
		if len(arg) < 2 || arg[1] != 'o' {
			continue
		}
		if len(arg) > 2 {
			a = insert(a, f+1, arg[2:])
			a[f] = "-o"
		} else if f+1 >= len(a) {
			continue // a dangling -o stays as it is
		}
		f++
		if isBraced(a[f]) {
			a[f] = unbrace(a[f])
			if n, v, err := SplitNameValue(a[f]); err == nil {
				a[f] = n + "=" + v
			}
		}
	}
	for ; f < len(a); f++ {
		a[f] = unbrace(a[f])
	}
	e.Argv = a
}

func insert(a []string, i int, s string) []string {
	a = append(a, "")
	copy(a[i+1:], a[i:])
	a[i] = s
	return a
}

// Postfix's layout: the seven columns at these positions, lines folded before 80 columns
// with a four-space indent.
var masterColumns = [masterMinFields]int{0, 11, 17, 25, 33, 41, 49, 57}

const (
	foldLimit  = 80
	foldIndent = 4
)

// argWriter lays out the command's arguments as postconf does: an option with a value
// ("-o name=value") always starts a new line when folding and is kept together; other
// arguments go on the current line while they fit.
type argWriter struct {
	b       strings.Builder
	lineLen int
	fold    bool
}

func (w *argWriter) text(s string) {
	w.b.WriteString(s)
	w.lineLen += len(s)
}

// args writes the arguments a (those after the command name). optValueExtra is the width
// postconf counts beyond the option and its value: 3 for -M, 1 for -F.
func (w *argWriter) args(a []string, optValueExtra int) {
	inOptions := true
	for i := 0; i < len(a); i++ {
		arg := a[i]
		argLen := len(arg)
		aval, hasVal := "", false
		parens := false
		if inOptions {
			if arg == "" || arg[0] != '-' || arg == "--" {
				inOptions = false
			} else if len(arg) > 1 && arg[1] == 'o' && i+1 < len(a) {
				aval, hasVal = a[i+1], true
				w.lineLen = foldLimit // an option with a value starts a new line
				argLen += len(aval) + optValueExtra
				if parens = strings.ContainsAny(aval, " \t\r\n"); parens {
					argLen += 2
				}
			}
		}
		if !inOptions {
			parens = strings.ContainsAny(arg, " \t\r\n")
		}
		if w.lineLen > foldIndent {
			if !w.fold || w.lineLen+1+argLen < foldLimit {
				w.text(" ")
			} else {
				w.b.WriteString("\n" + strings.Repeat(" ", foldIndent))
				w.lineLen = foldIndent
			}
		}
		if !inOptions && parens {
			w.text("{" + arg + "}")
		} else {
			w.text(arg)
		}
		if hasVal {
			w.text(" ")
			if parens {
				w.text("{" + aval + "}")
			} else {
				w.text(aval)
			}
			i++
			w.lineLen = foldLimit
		}
	}
}

// Format prints the entry as "postconf -M" does (fold: -Mf, and how edits write it), without
// the final newline.
func (e MasterEntry) Format(fold bool) string {
	w := &argWriter{fold: fold}
	for f := 0; f < masterMinFields; f++ {
		if w.lineLen > 0 {
			for {
				w.text(" ")
				if w.lineLen >= masterColumns[f] {
					break
				}
			}
		}
		w.text(e.Argv[f])
	}
	w.args(e.Argv[masterMinFields:], 3)
	return w.b.String()
}

// FormatField prints one field as "postconf -F" does: "name/type/field = value"; hideName
// (-h) prints only the value, hideValue (-H) only the name. The command field includes the
// arguments.
func (e MasterEntry) FormatField(field int, hideName, hideValue, fold bool) string {
	w := &argWriter{fold: fold}
	if !hideName {
		w.text(e.Argv[0] + "/" + e.Argv[1] + "/" + MasterFieldNames[field])
	}
	if !hideName && !hideValue {
		w.text(" = ")
	}
	if !hideValue {
		v := e.Argv[field]
		if w.lineLen > 0 && w.lineLen+len(v) > foldLimit {
			w.b.WriteString("\n" + strings.Repeat(" ", foldIndent))
			w.lineLen = foldIndent
		}
		w.text(v)
		if field == FieldCommand {
			w.args(e.Argv[masterMinFields:], 1)
		}
	}
	return w.b.String()
}

// Params returns the entry's "-o name=value" settings sorted by name, the last of several
// settings of one name winning.
func (e MasterEntry) Params() [][2]string {
	m := map[string]string{}
	e.eachParam(func(i int, name, value string) { m[name] = value })
	out := make([][2]string, 0, len(m))
	for n, v := range m {
		out = append(out, [2]string{n, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// eachParam calls fn with the index of each "-o" among the leading options.
func (e MasterEntry) eachParam(fn func(i int, name, value string)) {
	a := e.Argv
	for f := masterMinFields; f < len(a); f++ {
		arg := a[f]
		if arg == "" || arg[0] != '-' || arg == "--" {
			return
		}
		if len(arg) > 1 && arg[1] == 'o' && f+1 < len(a) {
			if arg == "-o" {
				n, v, _ := strings.Cut(a[f+1], "=")
				fn(f, n, v)
			}
			f++
		}
	}
}

// setParam replaces every "-o name=..." of the entry, or adds one after the last option.
func (e *MasterEntry) setParam(name, value string) {
	found := false
	e.eachParam(func(i int, n, _ string) {
		if n == name {
			e.Argv[i+1] = name + "=" + value
			found = true
		}
	})
	if found {
		return
	}
	end := masterMinFields
	for end < len(e.Argv) {
		arg := e.Argv[end]
		if arg == "" || arg[0] != '-' || arg == "--" {
			break
		}
		if len(arg) > 1 && arg[1] == 'o' && end+1 < len(e.Argv) {
			end++
		}
		end++
	}
	e.Argv = insert(insert(e.Argv, end, name+"="+value), end, "-o")
}

// removeParam deletes every "-o name=..." of the entry.
func (e *MasterEntry) removeParam(name string) {
	var drop []int
	e.eachParam(func(i int, n, _ string) {
		if n == name {
			drop = append(drop, i)
		}
	})
	for k := len(drop) - 1; k >= 0; k-- {
		i := drop[k]
		e.Argv = append(e.Argv[:i], e.Argv[i+2:]...)
	}
}

// setField replaces one field; the command field takes the command and all its arguments.
func (e *MasterEntry) setField(field int, value string) error {
	if field == FieldCommand {
		words, err := splitMasterWords(value)
		if err != nil {
			return err
		}
		e.Argv = append(e.Argv[:FieldCommand:FieldCommand], words...)
		if len(e.Argv) < masterMinFields {
			e.Argv = append(e.Argv, "")
		}
		e.normalize()
	} else {
		e.Argv[field] = value
	}
	return e.check(value)
}

// ServicePattern is a "name/type[/field-or-parameter]" selector; "*" matches anything.
type ServicePattern []string

// ParseServicePattern splits pattern at "/" into between min and max parts, filling the
// missing trailing ones with "*". A part may be "*" but not contain one otherwise.
func ParseServicePattern(pattern string, min, max int) (ServicePattern, bool) {
	if strings.HasPrefix(pattern, "/") {
		return nil, false
	}
	var parts []string
	for _, p := range strings.Split(pattern, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) < min || len(parts) > max {
		return nil, false
	}
	for _, p := range parts {
		if p != "*" && strings.Contains(p, "*") {
			return nil, false
		}
	}
	for len(parts) < max {
		parts = append(parts, "*")
	}
	return ServicePattern(parts), true
}

// Match tells whether the pattern's name and type select an entry.
func (p ServicePattern) Match(name, typ string) bool {
	return (p[0] == "*" || p[0] == name) && (p[1] == "*" || p[1] == typ)
}

// Master.cf edit kinds (postconf -M, -F, -P) and operations (-e, -X, -#).
const (
	EditEntries = 'M'
	EditFields  = 'F'
	EditParams  = 'P'

	EditSet     = 'e'
	EditRemove  = 'X'
	EditComment = '#'
)

type masterEditReq struct {
	raw     string
	pattern ServicePattern
	field   int
	value   string
	entry   *MasterEntry // -Me: the new entry
	matches int
}

// EditMaster applies postconf's master.cf edits to the file text old and returns the new
// text and the warnings postconf prints. kind is EditEntries, EditFields or EditParams; op
// is EditSet (args "pattern=value"), EditRemove or EditComment (args "pattern").
//
// Every line that is not part of a matched entry is kept byte for byte, comments and blank
// lines included. A matched entry is rewritten in postconf's folded layout (-e, -PX),
// dropped (-MX), or commented out line by line (-M#); comment lines inside it (between its
// continuation lines) are kept, before it. -Me replaces the first entry that matches the
// pattern or the new entry's own name/type, drops later ones, and appends the entry when
// nothing matched.
func EditMaster(old []byte, kind, op byte, args []string) ([]byte, []string, error) {
	opts := "-Me, -Fe, -Pe, -X, or -#"
	var reqs []*masterEditReq
	for _, raw := range args {
		r := &masterEditReq{raw: raw}
		if strings.ContainsAny(raw, "\n") {
			return nil, nil, fmt.Errorf("%s accept no multi-line input", opts)
		}
		cp := strings.TrimLeft(raw, " \t\r\v\f")
		if strings.HasPrefix(cp, "#") {
			return nil, nil, fmt.Errorf("%s accept no comment input", opts)
		}
		pattern := cp
		if op == EditSet {
			n, v, err := SplitNameValue(cp)
			if err != nil {
				return nil, nil, fmt.Errorf("%v: \"%s\"", err, raw)
			}
			pattern, r.value = n, v
		} else {
			if strings.Contains(cp, "=") {
				return nil, nil, fmt.Errorf("-X or -# requires names without value")
			}
			pattern = strings.TrimRight(pattern, " \t\r\v\f")
		}
		var ok bool
		switch kind {
		case EditEntries:
			if r.pattern, ok = ParseServicePattern(pattern, 2, 2); !ok {
				return nil, nil, fmt.Errorf("-Me, -MX or -M# requires service_name/type")
			}
			if op == EditSet {
				e, err := ParseMasterEntry(r.value)
				if _, field := err.(fieldError); field {
					return nil, nil, err
				} else if err != nil {
					return nil, nil, fmt.Errorf("%v: \"%s\"", err, raw)
				}
				r.entry = &e
			}
		case EditFields:
			if r.pattern, ok = ParseServicePattern(pattern, 3, 3); !ok {
				return nil, nil, fmt.Errorf("-Fe or -FX requires service_name/type/field_name")
			}
			f, err := MasterFieldNumber(r.pattern[2])
			if err != nil {
				return nil, nil, err
			}
			if f < 0 {
				return nil, nil, fmt.Errorf("-Fe does not accept wild-card field name")
			}
			r.field = f
			if op == EditSet && f < FieldCommand && strings.ContainsAny(r.value, " \t\r\n") {
				return nil, nil, fmt.Errorf("-Fe does not accept whitespace in non-command field")
			}
		case EditParams:
			if r.pattern, ok = ParseServicePattern(pattern, 3, 3); !ok {
				return nil, nil, fmt.Errorf("-Pe or -PX requires service_name/type/parameter")
			}
			if r.pattern[2] == "*" {
				return nil, nil, fmt.Errorf("-Pe does not accept wild-card parameter name")
			}
			if op == EditSet && strings.ContainsAny(r.value, " \t\r\n") {
				return nil, nil, fmt.Errorf("-Pe does not accept whitespace in parameter value")
			}
		}
		reqs = append(reqs, r)
	}

	lines := splitLines(old)
	var b bytes.Buffer
	for i := 0; i < len(lines); {
		line := lines[i]
		content := strings.TrimRight(line, "\r\n")
		t := strings.TrimLeft(content, " \t\r\v\f")
		if t == "" || t[0] == '#' || len(t) != len(content) {
			// Comments, blank lines, and continuation lines without an entry pass through.
			b.WriteString(line)
			i++
			continue
		}
		// The entry: this line, its continuation lines, and the comments between them.
		end := i + 1
		last := i
		for j := i + 1; j < len(lines); j++ {
			c := strings.TrimRight(lines[j], "\r\n")
			ct := strings.TrimLeft(c, " \t\r\v\f")
			if ct == "" || ct[0] == '#' {
				continue
			}
			if len(ct) == len(c) {
				break
			}
			last = j
		}
		end = last + 1
		var text strings.Builder
		var inner []string // comment lines inside the entry
		for _, l := range lines[i:end] {
			c := strings.TrimRight(l, "\r\n")
			ct := strings.TrimLeft(c, " \t\r\v\f")
			if ct == "" || ct[0] == '#' {
				inner = append(inner, l)
				continue
			}
			text.WriteString(c)
			text.WriteByte(' ')
		}
		lineNo := i + 1
		words := strings.Fields(content)
		if len(words) < 2 {
			return nil, nil, &lineError{lineNo, fmt.Errorf("specify service name and type on the same line")}
		}
		name, typ := words[0], words[1]
		if strings.Contains(name, "=") {
			return nil, nil, &lineError{lineNo, fmt.Errorf("service name syntax \"%s\" is unsupported with %s", name, opts)}
		}
		if strings.ContainsAny(typ, "=/") {
			return nil, nil, &lineError{lineNo, fmt.Errorf("service type syntax \"%s\" is unsupported with %s", typ, opts)}
		}

		matched := false
		var repl *MasterEntry
		for _, r := range reqs {
			hit := r.pattern.Match(name, typ)
			if !hit && r.entry != nil && r.entry.Name() == name && r.entry.Type() == typ {
				hit = true
			}
			if !hit {
				continue
			}
			matched = true
			r.matches++
			switch {
			case kind == EditEntries && op == EditSet:
				if r.matches == 1 {
					e := *r.entry
					e.Argv = append([]string(nil), e.Argv...)
					repl = &e
				}
			case kind == EditFields && op == EditSet, kind == EditParams:
				if repl == nil {
					e, err := ParseMasterEntry(strings.TrimRight(text.String(), " "))
					if err != nil {
						return nil, nil, &lineError{lineNo, err}
					}
					repl = &e
				}
				switch {
				case kind == EditFields:
					if err := repl.setField(r.field, r.value); err != nil {
						return nil, nil, err
					}
				case op == EditSet:
					repl.setParam(r.pattern[2], r.value)
				default:
					repl.removeParam(r.pattern[2])
				}
			}
		}
		switch {
		case !matched:
			for _, l := range lines[i:end] {
				b.WriteString(l)
			}
		case repl != nil:
			for _, l := range inner {
				b.WriteString(l)
			}
			b.WriteString(repl.Format(true))
			b.WriteByte('\n')
		case op == EditComment:
			for _, l := range lines[i:end] {
				c := strings.TrimLeft(strings.TrimRight(l, "\r\n"), " \t\r\v\f")
				if c == "" || c[0] == '#' {
					b.WriteString(l)
				} else {
					b.WriteString("#" + l)
				}
			}
		default: // removed (-MX, or a later duplicate of a -Me entry)
			for _, l := range inner {
				b.WriteString(l)
			}
		}
		i = end
	}

	var warnings []string
	for _, r := range reqs {
		if r.matches > 0 {
			continue
		}
		switch {
		case kind == EditEntries && op == EditSet:
			if b.Len() > 0 && !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
				b.WriteByte('\n')
			}
			b.WriteString(r.entry.Format(true))
			b.WriteByte('\n')
		case kind != EditEntries:
			warnings = append(warnings, fmt.Sprintf("unmatched service_name/type: \"%s\"", r.raw))
		}
	}
	return b.Bytes(), warnings, nil
}

// splitLines splits text into lines that keep their "\n"; a last line without one is
// given one, as postconf does.
func splitLines(text []byte) []string {
	var out []string
	s := string(text)
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s+"\n")
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}
