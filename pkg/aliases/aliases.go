// Package aliases reads aliases(5) files and the destination lists found on their right-hand
// sides, in ~/.forward files and in :include: files.
//
// # File format
//
// An aliases file is a sequence of logical lines (a line that starts with whitespace continues
// the previous one; blank lines and lines whose first non-blank character is '#' are ignored):
//
//	name: value1, value2, ...
//
// The name is folded to lower case; it may be "double-quoted" to contain ':', '#', '@' or
// whitespace. The value is a comma-separated list of destinations, RFC 822 style: "quoted
// strings" protect commas and spaces, (comments) are dropped, <angle> brackets are removed.
// postalias stores the list normalised as "item, item, item" (ParseFile does that), and adds
// the entry "@" -> "@" as Sendmail's "database complete" marker.
//
// # Destinations
//
//	user, user@domain   an address: looked up again in the aliases if local
//	\user               deliver to user's mailbox, no further aliasing or .forward
//	/path/name          append to a file (a name ending in '/' is a maildir)
//	|command args       pipe to a command ("|command args" when it contains spaces)
//	:include:/path      read more destinations from a file
//
// The expansion itself (recursion, loops, owner- aliases, privileges) belongs to local(8);
// this package gives it the parsed pieces and the lookup order (Lookup, Owner).
package aliases

import (
	"fmt"
	"io"
	"strings"

	"postern/pkg/table"
)

// Kind is the kind of one destination.
type Kind int

const (
	Address Kind = iota // user or user@domain
	Command             // |command
	File                // /path
	Include             // :include:/path
)

func (k Kind) String() string {
	return [...]string{"address", "command", "file", "include"}[k]
}

// Item is one destination of an alias, .forward or :include: list.
type Item struct {
	Kind Kind
	// Value: the address (without a leading backslash), the command (without '|'), the file
	// path, or the include file path.
	Value string
	// NoAlias is set for "\user": deliver to the mailbox without further aliasing.
	NoAlias bool
	// Raw is the item as written (quotes kept), used to store the normalised list.
	Raw string
}

// MaxItems bounds the number of items parsed from one list.
const MaxItems = 100000

// splitList splits a destination list on commas outside "quotes", (comments) and <angles>.
// Comments are removed. Items are returned trimmed, empty ones dropped.
func splitList(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQuote, angle, comment := false, 0, 0
	flush := func() {
		t := strings.TrimSpace(cur.String())
		cur.Reset()
		if t != "" {
			out = append(out, t)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote:
			cur.WriteByte(c)
			if c == '\\' && i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			} else if c == '"' {
				inQuote = false
			}
		case comment > 0:
			if c == '\\' && i+1 < len(s) {
				i++
			} else if c == '(' {
				comment++
			} else if c == ')' {
				comment--
			}
		case c == '"':
			inQuote = true
			cur.WriteByte(c)
		case c == '(':
			comment++
		case c == '<':
			angle++
			cur.WriteByte(c)
		case c == '>':
			if angle > 0 {
				angle--
			}
			cur.WriteByte(c)
		case c == ',' && angle == 0:
			flush()
		case c == '\n' || c == '\r' || c == '\t':
			cur.WriteByte(' ')
		default:
			cur.WriteByte(c)
		}
		if len(out) > MaxItems {
			return nil, fmt.Errorf("more than %d destinations", MaxItems)
		}
	}
	flush()
	if inQuote {
		return out, fmt.Errorf("missing closing '\"'")
	}
	if comment > 0 {
		return out, fmt.Errorf("missing closing ')'")
	}
	return out, nil
}

// unquote removes RFC 822 quoting from a token: "a b"@x -> a b@x, "|cmd" -> |cmd.
func unquote(s string) string {
	if !strings.Contains(s, "\"") {
		return s
	}
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			in = !in
		case c == '\\' && in && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ParseItems parses one destination list (an alias value, a .forward line).
func ParseItems(list string) ([]Item, error) {
	toks, err := splitList(list)
	var items []Item
	for _, raw := range toks {
		v := strings.TrimSpace(raw)
		// "Name <addr>" and "<addr>": the address inside the angles.
		if i := strings.LastIndexByte(v, '<'); i >= 0 && strings.HasSuffix(v, ">") && !strings.HasPrefix(v, "\"") {
			v = strings.TrimSpace(v[i+1 : len(v)-1])
		}
		v = strings.TrimSpace(unquote(v))
		if v == "" {
			continue
		}
		it := Item{Raw: raw, Value: v}
		switch {
		case v[0] == '|':
			it.Kind, it.Value = Command, strings.TrimSpace(v[1:])
		case v[0] == '/':
			it.Kind = File
		case len(v) >= 9 && strings.EqualFold(v[:9], ":include:"):
			it.Kind, it.Value = Include, strings.TrimSpace(v[9:])
		case v[0] == '\\':
			it.Kind, it.Value, it.NoAlias = Address, strings.TrimLeft(v, "\\"), true
		default:
			it.Kind = Address
		}
		if it.Value == "" {
			continue
		}
		items = append(items, it)
	}
	return items, err
}

// Normalize re-joins a destination list the way postalias stores it: "a, b, c".
func Normalize(list string) string {
	toks, _ := splitList(list)
	return strings.Join(toks, ", ")
}

// ParseList reads a .forward or :include: file: destination lists, one or more per logical
// line; blank and '#' lines are ignored.
func ParseList(r io.Reader) ([]Item, error) {
	var all []Item
	err := table.ReadLogical(r, func(text string, line int) error {
		items, err := ParseItems(text)
		if err != nil {
			return fmt.Errorf("line %d: %v", line, err)
		}
		all = append(all, items...)
		if len(all) > MaxItems {
			return fmt.Errorf("more than %d destinations", MaxItems)
		}
		return nil
	})
	return all, err
}

// Entry is one alias read from a file.
type Entry struct {
	Name  string // lower case, unquoted
	Value string // normalised destination list
	Line  int
}

// ParseFile reads an aliases(5) file. Malformed lines are reported through warn with Postfix's
// text ("FILE, line N: need name:value pair") and skipped.
func ParseFile(r io.Reader, file string, fn func(Entry) error, warn func(string)) error {
	if warn == nil {
		warn = func(string) {}
	}
	return table.ReadLogical(r, func(text string, line int) error {
		name, value, ok := splitNameValue(text)
		if !ok {
			warn(fmt.Sprintf("%s, line %d: need name:value pair", file, line))
			return nil
		}
		value = Normalize(value)
		if value == "" {
			warn(fmt.Sprintf("%s, line %d: need name:value pair", file, line))
			return nil
		}
		return fn(Entry{Name: strings.ToLower(name), Value: value, Line: line})
	})
}

// splitNameValue splits "name: value" where name may be "quoted".
func splitNameValue(text string) (name, value string, ok bool) {
	text = strings.TrimLeft(text, " \t")
	if strings.HasPrefix(text, "\"") {
		end := 1
		for end < len(text) && text[end] != '"' {
			if text[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(text) {
			return "", "", false
		}
		name = unquote(text[:end+1])
		rest := strings.TrimLeft(text[end+1:], " \t")
		if !strings.HasPrefix(rest, ":") {
			return "", "", false
		}
		return name, rest[1:], name != ""
	}
	name, value, ok = strings.Cut(text, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return "", "", false
	}
	return name, value, true
}

// Lookup finds the alias for a local part in alias_maps the way local(8) does: the whole local
// part ("user+ext") first, then the bare user when delim (recipient_delimiter, a set of
// characters) splits it. Keys are folded to lower case. key is the name that matched.
func Lookup(maps *table.List, localpart, delim string) (value, key string, found bool, err error) {
	lp := strings.ToLower(localpart)
	keys := []string{lp}
	if delim != "" {
		if i := strings.IndexAny(lp, delim); i > 0 {
			keys = append(keys, lp[:i])
		}
	}
	for _, k := range keys {
		v, ok, err := maps.Lookup(k)
		if err != nil || ok {
			return v, k, ok, err
		}
	}
	return "", "", false, nil
}

// Owner returns the owner-NAME alias of name, if any (list mail gets that envelope sender).
func Owner(maps *table.List, name string) (value string, found bool, err error) {
	return maps.Lookup("owner-" + strings.ToLower(name))
}
