package table

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Table is one lookup table.
type Table interface {
	// Lookup returns the value stored under key. found is false when the key is absent. err
	// is a lookup failure (the table could not be read): callers must treat it as a temporary
	// error, never as "not found".
	Lookup(key string) (value string, found bool, err error)
}

// Walker is implemented by tables that can list their entries (postmap -s).
type Walker interface {
	Walk(fn func(key, value string) error) error
}

// Owned is implemented by file-backed tables: the owner of the file that holds the table.
type Owned interface {
	Owner() (uid, gid int, err error)
}

// Closer is implemented by tables holding resources.
type Closer interface {
	Close() error
}

// Options controls how tables are opened. The zero value is what daemons use.
type Options struct {
	// NoFold keeps the case of keys for fixed-string tables (postmap -f). By default keys are
	// lower-cased when built and when looked up.
	NoFold bool
	// NoRegsub refuses $N substitution in regexp: results (local(8) for alias_maps).
	NoRegsub bool
	// DefaultType is used for a name without "type:" (postmap's default_database_type). When
	// empty such a name is an error.
	DefaultType string
	// Warnf receives warnings (unsupported types skipped by OpenList, stale .db files, regexp
	// constructs translated or refused). Text without a "warning: " prefix.
	Warnf func(format string, args ...any)
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

func (o *Options) warnf(format string, args ...any) {
	if o != nil && o.Warnf != nil {
		o.Warnf(format, args...)
	}
}

func (o *Options) now() func() time.Time {
	if o.Now != nil {
		return o.Now
	}
	return time.Now
}

// ErrUnsupported marks a table type this implementation does not provide.
var ErrUnsupported = errors.New("unsupported dictionary type")

// SplitSpec splits "type:name"; "proxy:" is dropped (tables are opened directly: there is no
// proxymap). A name without a type gets def; with def empty it is an error.
func SplitSpec(spec, def string) (typ, name string, err error) {
	spec = strings.TrimSpace(spec)
	for strings.HasPrefix(spec, "proxy:") {
		spec = spec[len("proxy:"):]
	}
	typ, name, ok := strings.Cut(spec, ":")
	if !ok || strings.HasPrefix(spec, "/") {
		if def == "" {
			return "", "", fmt.Errorf("need dictionary type:name, got %q", spec)
		}
		return def, spec, nil
	}
	if typ == "" {
		return "", "", fmt.Errorf("need dictionary type:name, got %q", spec)
	}
	return typ, name, nil
}

// Fixed reports whether typ is a fixed-string table type (keys folded, built by postmap).
func Fixed(typ string) bool {
	switch typ {
	case "hash", "btree", "texthash", "inline", "static", "unix":
		return true
	}
	return false
}

// Supported reports whether Open knows table type typ.
func Supported(typ string) bool {
	switch typ {
	case "hash", "btree", "texthash", "inline", "static", "regexp", "pcre", "cidr", "unix":
		return true
	}
	return false
}

// PostfixType reports whether typ is one of Postfix 3.7's table types (postconf -m and the
// dynamically loaded ones), supported here or not.
func PostfixType(typ string) bool {
	switch typ {
	case "btree", "cdb", "cidr", "dbm", "environ", "fail", "hash", "inline", "internal", "ldap",
		"lmdb", "memcache", "mysql", "nis", "nisplus", "netinfo", "pcre", "pgsql", "pipemap",
		"proxy", "randmap", "regexp", "sdbm", "socketmap", "sqlite", "static", "tcp", "texthash",
		"unionmap", "unix":
		return true
	}
	return false
}

// Indexed reports whether typ is built into FILE.db by postmap/postalias.
func Indexed(typ string) bool { return typ == "hash" || typ == "btree" }

// Open opens one table from Postfix's type:name syntax:
//
//	hash:FILE, btree:FILE   FILE.db built by postmap (see WriteDB)
//	texthash:FILE           the postmap source file read into memory
//	inline:{ k=v, { k = v with spaces } }
//	static:value, static:{ value with spaces }
//	regexp:FILE, pcre:FILE  regexp_table(5), translated to Go's RE2
//	cidr:FILE               cidr_table(5)
//	unix:passwd.byname      the passwd line for a login name
//
// Other types fail with an error wrapping ErrUnsupported.
func Open(spec string, o *Options) (Table, error) {
	if o == nil {
		o = &Options{}
	}
	typ, name, err := SplitSpec(spec, o.DefaultType)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "hash", "btree":
		d, err := openDB(typ, name, o)
		if err != nil {
			return nil, err
		}
		return d, nil
	case "texthash":
		return openTexthash(name, o)
	case "inline":
		return openInline(name, o)
	case "static":
		return openStatic(name), nil
	case "regexp", "pcre":
		return openRegexp(typ, name, o)
	case "cidr":
		return openCIDR(name, o)
	case "unix":
		return openUnix(name)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, typ)
}

// List is a list of tables searched in order, as Postfix searches alias_maps,
// virtual_alias_maps and the like.
type List struct {
	Tables []Table
	Specs  []string // the spec each table was opened from
}

// OpenList opens each spec. An unsupported type (nis:, ldap:, ...) is reported through
// o.Warnf and skipped. A table that exists in the configuration but cannot be opened now (a
// missing or Berkeley DB FILE.db) is reported too and kept: its lookups fail with that error
// (mail is deferred, not bounced) until it becomes readable, which it notices by itself.
func OpenList(specs []string, o *Options) (*List, error) {
	if o == nil {
		o = &Options{}
	}
	l := &List{}
	for _, s := range specs {
		if strings.TrimSpace(s) == "" {
			continue
		}
		typ, name, err := SplitSpec(s, o.DefaultType)
		if err != nil {
			return nil, err
		}
		var t Table
		if Indexed(typ) {
			d, err := openDB(typ, name, o)
			if err != nil {
				o.warnf("%v", err)
				d.err = err
			}
			t = d
		} else if t, err = Open(s, o); err != nil {
			if errors.Is(err, ErrUnsupported) {
				o.warnf("%s: %v (skipped)", s, err)
				continue
			}
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		l.Tables = append(l.Tables, t)
		l.Specs = append(l.Specs, s)
	}
	return l, nil
}

// Lookup searches the tables in order and returns the first value found. A failing table
// stops the search with its error (as Postfix: a later table must not override an earlier
// one that could not answer).
func (l *List) Lookup(key string) (string, bool, error) {
	v, _, found, err := l.Find(key)
	return v, found, err
}

// Find is Lookup that also returns the index of the table that answered (-1 when none).
func (l *List) Find(key string) (value string, index int, found bool, err error) {
	if l == nil {
		return "", -1, false, nil
	}
	for i, t := range l.Tables {
		v, ok, err := t.Lookup(key)
		if err != nil {
			return "", i, false, fmt.Errorf("%s lookup error for %q: %w", l.Specs[i], key, err)
		}
		if ok {
			return v, i, true, nil
		}
	}
	return "", -1, false, nil
}

// Len is the number of tables.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.Tables)
}

// Close closes every table that holds resources.
func (l *List) Close() error {
	if l == nil {
		return nil
	}
	for _, t := range l.Tables {
		if c, ok := t.(Closer); ok {
			c.Close()
		}
	}
	return nil
}
