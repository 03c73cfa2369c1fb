// Package config reads Postfix-compatible main.cf and master.cf files.
//
// main.cf values are kept as written and expanded lazily, at Get time, with the same $name
// rules as Postfix (see Expand). Parameters not set in main.cf take their built-in defaults,
// which are Postfix 3.7.11's `postconf -d` values as built by Debian (see defaults_table.go).
//
// Compatibility-level dependent defaults are stored in their relational form, exactly as
// `postconf -d` prints them (for example append_dot_mydomain =
// ${{$compatibility_level} <level {1} ? {yes} : {no}}), and compatibility_level defaults to 0
// as upstream. So a main.cf without compatibility_level gets the legacy values
// (append_dot_mydomain=yes, mynetworks_style=subnet, relay_domains=$mydestination,
// smtputf8_enable=no, smtpd_relay_restrictions empty, ...); Debian's and upstream's shipped
// main.cf set compatibility_level = 3.6.
//
// implemented.go is the registry of the parameters Postern implements (one line each: mark a
// parameter there when a program starts reading it; TestImplementedRegistry keeps it honest).
// Unimplemented turns what main.cf and master.cf ask for and Postern does not do
// (parameters, smtpd restrictions, table types, master.cf programs) into the warnings postfix
// check, start and reload show and master logs: nothing is ignored silently.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultDir is the default configuration directory.
const DefaultDir = "/etc/postfix"

// MaxFileSize bounds main.cf and master.cf; larger files are rejected.
const MaxFileSize = 16 << 20

// Dir returns the config dir from the -c flag value if non-empty, else $MAIL_CONFIG, else
// DefaultDir.
func Dir(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv("MAIL_CONFIG"); v != "" {
		return v
	}
	return DefaultDir
}

// Config is a parsed main.cf plus per-process overrides. The zero value is not usable; use
// Load, Parse or Clone. A Config is not safe for concurrent modification; concurrent Get calls
// without Override are fine.
type Config struct {
	dir      string
	file     map[string]string // name = value as set in main.cf (last wins)
	fileLine map[string]int    // line number of the (last) definition
	over     map[string]string // -o overrides
	warnings []string
}

// logicalLine is one logical line of main.cf or master.cf and its first physical line number.
type logicalLine struct {
	text string
	line int
}

func newConfig() *Config {
	return &Config{file: map[string]string{}, fileLine: map[string]int{}, over: map[string]string{}}
}

// Load reads dir/main.cf. A missing main.cf means all defaults.
func Load(dir string) (*Config, error) {
	path := filepath.Join(dir, "main.cf")
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			c := newConfig()
			c.dir = dir
			return c, nil
		}
		return nil, err
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s, %v", path, err)
	}
	c.dir = dir
	return c, nil
}

// readLogical splits text into Postfix logical lines: a line starting with whitespace continues
// the previous one (the newline is dropped, its leading whitespace kept); blank lines and lines
// whose first non-blank character is '#' are skipped, also between continuation lines. A '\r'
// before the newline is dropped. Leading-whitespace lines before any logical line are reported
// in warnings and ignored.
func readLogical(r io.Reader) ([]logicalLine, []string, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > MaxFileSize {
		return nil, nil, fmt.Errorf("file is larger than %d bytes", MaxFileSize)
	}
	var out []logicalLine
	var warns []string
	var cur strings.Builder
	curLine := 0
	have := false
	flush := func() {
		if have {
			out = append(out, logicalLine{text: cur.String(), line: curLine})
		}
		cur.Reset()
		have = false
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 0, 64*1024), MaxFileSize+1)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSuffix(sc.Text(), "\r")
		t := strings.TrimLeft(line, " \t\r\v\f")
		if t == "" || t[0] == '#' {
			continue
		}
		if t != line { // starts with whitespace: continuation
			if !have {
				warns = append(warns, fmt.Sprintf("line %d: logical line must not start with whitespace: %q", n, truncate(t, 30)))
				continue
			}
			cur.WriteString(line)
			continue
		}
		flush()
		cur.WriteString(line)
		curLine = n
		have = true
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	flush()
	return out, warns, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// SplitNameValue splits "name = value" at the first '=', trimming whitespace around both.
func SplitNameValue(s string) (name, value string, err error) {
	i := strings.IndexByte(s, '=')
	if i < 0 {
		return "", "", fmt.Errorf("missing '=' after attribute name: %q", truncate(strings.TrimSpace(s), 100))
	}
	name = strings.TrimSpace(s[:i])
	value = strings.TrimSpace(s[i+1:])
	if name == "" {
		return "", "", fmt.Errorf("missing attribute name: %q", truncate(strings.TrimSpace(s), 100))
	}
	return name, value, nil
}

// ValidName reports whether name is a syntactically valid parameter name ([A-Za-z0-9_]+).
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isNameChar(name[i]) {
			return false
		}
	}
	return true
}

// Parse reads main.cf text. A line without '=' is an error, as in Postfix.
func Parse(r io.Reader) (*Config, error) {
	lines, warns, err := readLogical(r)
	if err != nil {
		return nil, err
	}
	c := newConfig()
	c.warnings = warns
	for _, l := range lines {
		name, value, err := SplitNameValue(l.text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", l.line, err)
		}
		c.file[name] = value
		c.fileLine[name] = l.line
	}
	return c, nil
}

// Warnings returns non-fatal problems found while parsing (e.g. a continuation line with
// nothing to continue).
func (c *Config) Warnings() []string { return append([]string(nil), c.warnings...) }

// Dir returns the configuration directory ("" for Parse results).
func (c *Config) Dir() string { return c.dir }

// SetDir sets the directory reported by Dir and used for master.cf by callers.
func (c *Config) SetDir(dir string) { c.dir = dir }

// Override sets name=value on top of main.cf (master.cf / command line -o).
func (c *Config) Override(name, value string) { c.over[name] = value }

// Clone returns an independent copy.
func (c *Config) Clone() *Config {
	n := newConfig()
	n.dir = c.dir
	for k, v := range c.file {
		n.file[k] = v
	}
	for k, v := range c.fileLine {
		n.fileLine[k] = v
	}
	for k, v := range c.over {
		n.over[k] = v
	}
	n.warnings = append([]string(nil), c.warnings...)
	return n
}

// Raw returns the unexpanded value as set in main.cf or by Override; ok=false if not set.
func (c *Config) Raw(name string) (string, bool) {
	if v, ok := c.over[name]; ok {
		return v, true
	}
	v, ok := c.file[name]
	return v, ok
}

// IsSet reports whether name is set in main.cf or by Override.
func (c *Config) IsSet(name string) bool {
	_, ok := c.Raw(name)
	return ok
}

// InFile reports whether name is set in main.cf itself (ignoring overrides).
func (c *Config) InFile(name string) bool {
	_, ok := c.file[name]
	return ok
}

// FileLine returns the line number of name's (last) definition in main.cf, or 0.
func (c *Config) FileLine(name string) int { return c.fileLine[name] }

// SetNames returns the names set in main.cf or by Override, sorted.
func (c *Config) SetNames() []string {
	m := map[string]bool{}
	for k := range c.file {
		m[k] = true
	}
	for k := range c.over {
		m[k] = true
	}
	return sortedKeys(m)
}

// Known reports whether name is a built-in parameter (has a default).
func Known(name string) bool {
	_, ok := builtinDefaults[name]
	return ok
}

// Names returns all known and set names, sorted.
func (c *Config) Names() []string {
	m := make(map[string]bool, len(builtinDefaults)+len(c.file))
	for k := range builtinDefaults {
		m[k] = true
	}
	for k := range c.file {
		m[k] = true
	}
	for k := range c.over {
		m[k] = true
	}
	return sortedKeys(m)
}

// KnownNames returns all built-in parameter names, sorted.
func KnownNames() []string {
	m := make(map[string]bool, len(builtinDefaults))
	for k := range builtinDefaults {
		m[k] = true
	}
	return sortedKeys(m)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lookupRaw returns the raw value of name: set value, else default; ok=false when unknown.
func (c *Config) lookupRaw(name string) (string, bool) {
	return c.lookupRawE(name, nil)
}

// lookupRawE is lookupRaw within expansion e: computed defaults that consult other parameters
// do so through e, so that its depth and work limits also cover them.
func (c *Config) lookupRawE(name string, e *expander) (string, bool) {
	if v, ok := c.Raw(name); ok {
		return v, true
	}
	return c.defaultE(name, e)
}

// Default returns name's default text in the context of this configuration (computed defaults
// such as myhostname depend on other settings); ok=false for unknown names.
func (c *Config) Default(name string) (string, bool) {
	return c.defaultE(name, nil)
}

func (c *Config) defaultE(name string, e *expander) (string, bool) {
	if _, ok := builtinDefaults[name]; !ok {
		return "", false
	}
	if e == nil {
		e = c.newExpander()
	}
	e.nest++
	defer func() { e.nest-- }()
	if e.nest > maxExpandDepth {
		e.failed = true
		return "", true
	}
	if v, ok := c.computedDefault(name, e); ok {
		return v, true
	}
	return builtinDefaults[name], true
}

func (c *Config) newExpander() *expander {
	e := &expander{recurse: true}
	e.lookup = func(name string) (string, bool) { return c.lookupRawE(name, e) }
	return e
}

// DefaultValue returns the raw default text as `postconf -d` prints it.
func DefaultValue(name string) (string, bool) {
	return newConfig().Default(name)
}

// RawOrDefault returns the value set in main.cf/override, else the default text, unexpanded;
// ok=false when the name is neither set nor known.
func (c *Config) RawOrDefault(name string) (string, bool) { return c.lookupRaw(name) }

// Get returns the fully expanded value; the default when not set; "" when unknown.
func (c *Config) Get(name string) string {
	return c.Expand("$" + "{" + name + "}")
}

// Expand expands value recursively against this configuration's parameters.
func (c *Config) Expand(value string) string {
	return c.newExpander().expand(value, 0)
}

// Bool interprets the expanded value as yes/no/true/false (case-insensitive); anything else
// gives the default's interpretation.
func (c *Config) Bool(name string) bool {
	if b, ok := parseBool(c.Get(name)); ok {
		return b
	}
	if d, ok := c.Default(name); ok {
		if b, ok := parseBool(c.Expand(d)); ok {
			return b
		}
	}
	return false
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "true":
		return true, true
	case "no", "false":
		return false, true
	}
	return false, false
}

// Int returns the expanded value as an integer; a malformed value gives the default's value
// (or 0).
func (c *Config) Int(name string) int64 {
	if n, err := strconv.ParseInt(strings.TrimSpace(c.Get(name)), 10, 64); err == nil {
		return n
	}
	if d, ok := c.Default(name); ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(c.Expand(d)), 10, 64); err == nil {
			return n
		}
	}
	return 0
}

// defaultTimeUnit is the unit of a time value given without one.
func defaultTimeUnit(name string) byte {
	switch name {
	case "delay_warning_time":
		return 'h'
	case "maximal_queue_lifetime", "bounce_queue_lifetime":
		return 'd'
	}
	return 's'
}

// ParseDuration parses a Postfix time value: a non-negative integer with an optional unit
// s, m, h, d or w; unit is used when none is given.
func ParseDuration(s string, unit byte) (time.Duration, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("bad time value: %q", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad time value: %q", s)
	}
	u := unit
	switch rest := s[i:]; len(rest) {
	case 0:
	case 1:
		u = rest[0]
	default:
		return 0, fmt.Errorf("bad time value: %q", s)
	}
	var d time.Duration
	switch u {
	case 's', 'S':
		d = time.Second
	case 'm', 'M':
		d = time.Minute
	case 'h', 'H':
		d = time.Hour
	case 'd', 'D':
		d = 24 * time.Hour
	case 'w', 'W':
		d = 7 * 24 * time.Hour
	default:
		return 0, fmt.Errorf("bad time unit in %q", s)
	}
	if n > int64((1<<63-1)/d) {
		return 0, fmt.Errorf("time value out of range: %q", s)
	}
	return time.Duration(n) * d, nil
}

// Duration returns the expanded value as a duration (units s m h d w; default unit s, h for
// delay_warning_time, d for maximal_queue_lifetime and bounce_queue_lifetime). A malformed
// value gives the default's value (or 0).
func (c *Config) Duration(name string) time.Duration {
	u := defaultTimeUnit(name)
	if d, err := ParseDuration(c.Get(name), u); err == nil {
		return d
	}
	if def, ok := c.Default(name); ok {
		if d, err := ParseDuration(c.Expand(def), u); err == nil {
			return d
		}
	}
	return 0
}

// SplitList splits a Postfix list value on commas and/or whitespace, dropping empty items.
// A "{ ... }" group (with nested braces) is kept together as one item, braces included.
func SplitList(s string) []string {
	var out []string
	i := 0
	for i < len(s) {
		c := s[i]
		if c == ',' || isSpace(c) {
			i++
			continue
		}
		start := i
		if c == '{' {
			if j := matching(s[i:], '{', '}'); j >= 0 {
				i += j + 1
				out = append(out, s[start:i])
				continue
			}
		}
		for i < len(s) && s[i] != ',' && !isSpace(s[i]) {
			i++
		}
		out = append(out, s[start:i])
	}
	return out
}

// List returns the expanded value split on commas and/or whitespace, empty items dropped.
func (c *Config) List(name string) []string { return SplitList(c.Get(name)) }

// MyOrigin returns the effective myorigin. As Debian's Postfix does, when the expanded value
// starts with '/' it names a file (normally /etc/mailname) whose first line is used; if that
// file cannot be read or its first line is empty, the expanded myhostname is used.
func (c *Config) MyOrigin() string {
	v := strings.TrimSpace(c.Get("myorigin"))
	if !strings.HasPrefix(v, "/") {
		return v
	}
	f, err := os.Open(v)
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(io.LimitReader(f, 64*1024))
		if sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				return line
			}
		}
	}
	return strings.TrimSpace(c.Get("myhostname"))
}
