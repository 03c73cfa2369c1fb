package table

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"postern/pkg/passwd"
)

// mapTable is an in-memory fixed-string table (texthash:, inline:).
type mapTable struct {
	m    map[string]string
	fold bool
}

func (t *mapTable) Lookup(key string) (string, bool, error) {
	if t.fold {
		key = strings.ToLower(key)
	}
	v, ok := t.m[key]
	return v, ok, nil
}

func (t *mapTable) Walk(fn func(key, value string) error) error {
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := fn(k, t.m[k]); err != nil {
			return err
		}
	}
	return nil
}

// fileTable is a table loaded into memory from a text file (texthash:, regexp:, cidr:). It
// reloads the file when it changes, checked with a stat on every lookup as DB does; if the new
// version cannot be loaded it keeps answering from the old one.
type fileTable struct {
	path   string
	load   func() (Table, error)
	warnf  func(string, ...any)
	now    func() time.Time
	mu     sync.RWMutex
	cur    Table
	id     fileID     // the version last loaded or tried
	reload sync.Mutex // one reload at a time
}

func newFileTable(path string, o *Options, load func() (Table, error)) (Table, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, pathError("open", path, err)
	}
	t, err := load()
	if err != nil {
		return nil, err
	}
	ft := &fileTable{path: path, load: load, warnf: o.warnf, now: o.now(), cur: t, id: idOf(fi)}
	return ft, nil
}

func (ft *fileTable) refresh() Table {
	ft.mu.RLock()
	cur, have := ft.cur, ft.id
	ft.mu.RUnlock()
	id, err := statID(ft.path)
	if err != nil || id == have {
		return cur
	}
	ft.reload.Lock()
	defer ft.reload.Unlock()
	ft.mu.RLock()
	cur, have = ft.cur, ft.id
	ft.mu.RUnlock()
	if id == have {
		return cur
	}
	t, err := ft.load()
	ft.mu.Lock()
	if err == nil {
		ft.cur = t
	} else {
		ft.warnf("%s: reload failed, keeping the previous version: %v", ft.path, err)
	}
	ft.id = id
	cur = ft.cur
	ft.mu.Unlock()
	return cur
}

func (ft *fileTable) Lookup(key string) (string, bool, error) { return ft.refresh().Lookup(key) }

func (ft *fileTable) Walk(fn func(key, value string) error) error {
	if w, ok := ft.refresh().(Walker); ok {
		return w.Walk(fn)
	}
	return fmt.Errorf("%s: table cannot be listed", ft.path)
}

func (ft *fileTable) Owner() (uid, gid int, err error) { return fileOwner(ft.path) }

func openTexthash(name string, o *Options) (Table, error) {
	load := func() (Table, error) {
		f, err := os.Open(name)
		if err != nil {
			return nil, pathError("open", name, err)
		}
		defer f.Close()
		t := &mapTable{m: map[string]string{}, fold: !o.NoFold}
		err = ParseSource(f, name, func(e Entry) error {
			k := e.Key
			if t.fold {
				k = strings.ToLower(k)
			}
			if _, dup := t.m[k]; dup {
				o.warnf("%s, line %d: duplicate entry: \"%s\"", name, e.Line, k)
				return nil
			}
			t.m[k] = e.Value
			return nil
		}, func(s string) { o.warnf("%s", s) })
		return t, err
	}
	return newFileTable(name, o, load)
}

// openInline parses inline:{ key=value, { key = text with spaces } }.
func openInline(name string, o *Options) (Table, error) {
	inner, ok := braced(name)
	if !ok {
		return nil, fmt.Errorf("inline:%s: need \"inline:{name=value...}\"", name)
	}
	t := &mapTable{m: map[string]string{}, fold: !o.NoFold}
	items, err := splitItems(inner)
	if err != nil {
		return nil, fmt.Errorf("inline:%s: %v", name, err)
	}
	for _, it := range items {
		if b, ok := braced(it); ok {
			it = b
		}
		k, v, ok := strings.Cut(it, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("inline:%s: \"%s\": missing '=' after attribute name", name, it)
		}
		if t.fold {
			k = strings.ToLower(k)
		}
		if _, dup := t.m[k]; !dup {
			t.m[k] = v
		}
	}
	return t, nil
}

// braced strips "{ ... }" and surrounding whitespace.
func braced(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return s, false
	}
	return strings.TrimSpace(s[1 : len(s)-1]), true
}

// splitItems splits on commas and whitespace outside braces.
func splitItems(s string) ([]string, error) {
	var out []string
	depth, start := 0, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{':
			if start < 0 {
				start = i
			}
			depth++
		case c == '}':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced '}'")
			}
		case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("missing '}'")
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out, nil
}

// staticTable answers every key with the same value.
type staticTable string

func (s staticTable) Lookup(string) (string, bool, error) { return string(s), true, nil }

func openStatic(name string) Table {
	if b, ok := braced(name); ok {
		return staticTable(b)
	}
	return staticTable(name)
}

// unixTable is unix:passwd.byname (the passwd line of a login) or unix:group.byname.
type unixTable struct{ group bool }

func openUnix(name string) (Table, error) {
	switch name {
	case "passwd.byname":
		return unixTable{}, nil
	case "group.byname":
		return unixTable{group: true}, nil
	}
	return nil, fmt.Errorf("%w: unix:%s (unknown table)", ErrUnsupported, name)
}

// GroupFile is read by unix:group.byname; tests may point it elsewhere.
var GroupFile = "/etc/group"

func (u unixTable) Lookup(key string) (string, bool, error) {
	if u.group {
		return lookupGroup(key)
	}
	p, err := passwd.Lookup(key)
	if err == passwd.ErrNotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return strings.Join([]string{p.Name, "x", strconv.Itoa(p.UID), strconv.Itoa(p.GID), p.Gecos, p.Home, p.Shell}, ":"), true, nil
}

func lookupGroup(name string) (string, bool, error) {
	f, err := os.Open(GroupFile)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		if n, _, _ := strings.Cut(sc.Text(), ":"); n == name && n != "" {
			return sc.Text(), true, nil
		}
	}
	return "", false, sc.Err()
}
