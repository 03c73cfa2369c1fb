package rewrite

import (
	"strings"
	"sync"

	"postern/pkg/addr"
	"postern/pkg/resolve"
	"postern/pkg/table"
)

// Finder searches a list of tables for an address in the order Postfix's mail_addr_find
// uses for canonical_maps, virtual_alias_maps and the recipient checks of smtpd. For
// user+ext@domain, with recipient_delimiter "+":
//
//  1. user+ext@domain   (every table, regexp: and cidr: included)
//  2. user@domain       (fixed-string tables only, from here on)
//  3. user+ext          only when domain is $myorigin or local (IsLocal: $mydestination,
//  4. user                $inet_interfaces/$proxy_interfaces address literals)
//  5. @domain
//
// Each key is tried against every table before the next key; the first table that has it
// answers. A table that fails stops the search with its error (the caller defers).
type Finder struct {
	Maps      *table.List
	Delimiter string                   // recipient_delimiter (a set of characters)
	MyOrigin  string                   // $myorigin: its users are local users
	IsLocal   func(domain string) bool // the other local domains; nil = none
	// DoubleBounce is double_bounce_sender: like postmaster, never split at a delimiter.
	DoubleBounce string
	// Canon canonicalises results (bare "user" -> user@$myorigin); nil = MyOrigin only.
	Canon *resolve.Canon

	once  sync.Once
	fixed []bool
}

// fixedAt tells whether table i takes partial keys (fixed-string types).
func (f *Finder) fixedAt(i int) bool {
	f.once.Do(func() { // Maps is fixed once the Finder is in use
		f.fixed = make([]bool, f.Maps.Len())
		for j, spec := range f.Maps.Specs {
			typ, _, err := table.SplitSpec(spec, "")
			f.fixed[j] = err == nil && table.Fixed(typ)
		}
	})
	return i < len(f.fixed) && f.fixed[i]
}

// lookup tries one key against the tables; partial keys only against fixed-string ones.
// Fixed-string keys are folded to lower case, as Postfix does; patterns get the key as is.
func (f *Finder) lookup(key string, partial bool) (string, bool, error) {
	lk := strings.ToLower(key)
	for i, t := range f.Maps.Tables {
		fixed := f.fixedAt(i)
		if partial && !fixed {
			continue
		}
		k := key
		if fixed {
			k = lk
		}
		v, ok, err := t.Lookup(k)
		if err != nil {
			return "", false, &TableError{Spec: f.Maps.Specs[i], Key: k, Err: err}
		}
		if ok {
			return v, true, nil
		}
	}
	return "", false, nil
}

// TableError is a table that could not answer.
type TableError struct {
	Spec, Key string
	Err       error
}

func (e *TableError) Error() string {
	return e.Spec + " lookup error for \"" + e.Key + "\": " + e.Err.Error()
}
func (e *TableError) Unwrap() error { return e.Err }

// SplitExtension splits a local part at the first recipient_delimiter character, as Postfix's
// split_addr: ext keeps the delimiter ("+foo"). postmaster and the double-bounce name are
// never split, nor (with '-' as a delimiter) owner-NAME and NAME-request.
func SplitExtension(local, delims, doubleBounce string) (user, ext string) {
	if delims == "" || strings.EqualFold(local, "postmaster") ||
		(doubleBounce != "" && strings.EqualFold(local, doubleBounce)) {
		return local, ""
	}
	if strings.Contains(delims, "-") {
		ll := strings.ToLower(local)
		if strings.HasPrefix(ll, "owner-") || strings.HasSuffix(ll, "-request") {
			return local, ""
		}
	}
	i := strings.IndexAny(local, delims)
	if i <= 0 {
		return local, ""
	}
	return local[:i], local[i:]
}

// local reports whether domain's users may be looked up without the domain.
func (f *Finder) local(domain string) bool {
	if strings.EqualFold(domain, f.MyOrigin) && domain != "" {
		return true
	}
	return f.IsLocal != nil && f.IsLocal(domain)
}

// Find looks address up in the key order above. ext is the unmatched extension ("+foo")
// when the match was found only without it, else "".
func (f *Finder) Find(address string) (value, ext string, found bool, err error) {
	if f == nil || f.Maps.Len() == 0 {
		return "", "", false, nil
	}
	local, domain := addr.Split(address)
	hasAt := strings.Contains(address, "@")
	user, x := SplitExtension(local, f.Delimiter, f.DoubleBounce)

	if v, ok, err := f.lookup(address, false); err != nil || ok {
		return v, "", ok, err
	}
	if x != "" {
		bare := user
		if hasAt {
			bare += "@" + domain
		}
		if v, ok, err := f.lookup(bare, true); err != nil || ok {
			return v, x, ok, err
		}
	}
	if !hasAt {
		return "", "", false, nil
	}
	if f.local(domain) {
		if v, ok, err := f.lookup(local, true); err != nil || ok {
			return v, "", ok, err
		}
		if x != "" {
			if v, ok, err := f.lookup(user, true); err != nil || ok {
				return v, x, ok, err
			}
		}
	}
	v, ok, err := f.lookup("@"+domain, true)
	return v, "", ok, err
}

// Map is Postfix's mail_addr_map: Find, then turn the value into addresses. A value that
// starts with "@otherdomain" gets the address's local part (without the unmatched
// extension); the value is split on commas and white space (outside quotes and <>); each
// address is canonicalised (bare "user" gets @$myorigin); with propagate, the unmatched
// extension is put back into every result (a@x -> a+foo@x).
func (f *Finder) Map(address string, propagate bool) ([]string, bool, error) {
	v, ext, found, err := f.Find(address)
	if err != nil || !found {
		return nil, false, err
	}
	if strings.HasPrefix(v, "@") {
		local, _ := addr.Split(address)
		v = strings.TrimSuffix(local, ext) + v
	}
	canon := f.Canon
	if canon == nil {
		canon = &resolve.Canon{MyOrigin: f.MyOrigin, AppendAt: true}
	}
	var out []string
	for _, a := range SplitAddresses(v) {
		a = canon.Address(a)
		if propagate && ext != "" {
			if i := strings.LastIndexByte(a, '@'); i >= 0 {
				a = a[:i] + ext + a[i:]
			} else {
				a += ext
			}
		}
		out = append(out, a)
	}
	return out, true, nil
}

// SplitAddresses splits a table result into addresses: separators are commas and white
// space outside "quotes" and <angle brackets>; the brackets around an address are removed.
func SplitAddresses(s string) []string {
	var out []string
	var cur strings.Builder
	quote, angle := false, 0
	flush := func() {
		t := cur.String()
		cur.Reset()
		if strings.HasPrefix(t, "<") && strings.HasSuffix(t, ">") {
			t = t[1 : len(t)-1]
		}
		if t != "" {
			out = append(out, t)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote:
			cur.WriteByte(c)
			if c == '\\' && i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			} else if c == '"' {
				quote = false
			}
		case c == '"':
			quote = true
			cur.WriteByte(c)
		case c == '<':
			angle++
			cur.WriteByte(c)
		case c == '>':
			if angle > 0 {
				angle--
			}
			cur.WriteByte(c)
		case angle == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}
