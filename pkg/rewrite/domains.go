package rewrite

import (
	"bufio"
	"errors"
	"os"
	"strings"

	"postern/pkg/table"
)

// DomainList is a Postfix domain list such as virtual_alias_domains: names, ".name" for
// the subdomains of name, "!item" to exclude, "/file" for the words of a file, and
// "type:table" items, which match a domain that the table has as a key (the value is
// ignored; ".parent" keys match subdomains). The first matching item decides.
type DomainList struct {
	items []domainItem
}

type domainItem struct {
	neg  bool
	name string      // lower case, or "" for a table
	maps *table.List // one table
}

// OpenDomainList parses items and opens the tables among them. Unsupported table types are
// reported through o.Warnf and skipped, as table.OpenList does.
func OpenDomainList(items []string, o *table.Options) (*DomainList, error) {
	dl := &DomainList{}
	return dl, dl.add(items, o, 0)
}

func (dl *DomainList) add(items []string, o *table.Options, depth int) error {
	for _, it := range items {
		neg := false
		for strings.HasPrefix(it, "!") {
			neg, it = !neg, it[1:]
		}
		switch {
		case it == "":
		case strings.HasPrefix(it, "/"):
			words, err := readWords(it)
			if err != nil {
				return err
			}
			if depth > 5 {
				return errors.New(it + ": file nesting too deep")
			}
			if err := dl.add(words, o, depth+1); err != nil {
				return err
			}
		case strings.Contains(it, ":") && !strings.HasPrefix(it, "["):
			l, err := table.OpenList([]string{it}, o)
			if err != nil {
				return err
			}
			if l.Len() > 0 {
				dl.items = append(dl.items, domainItem{neg: neg, maps: l})
			}
		default:
			dl.items = append(dl.items, domainItem{neg: neg, name: strings.ToLower(strings.TrimSuffix(it, "."))})
		}
	}
	return nil
}

func readWords(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		out = append(out, strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })...)
	}
	return out, sc.Err()
}

// Len is the number of items (0: the list is empty and matches nothing).
func (dl *DomainList) Len() int {
	if dl == nil {
		return 0
	}
	return len(dl.items)
}

// Match tells whether domain is in the list. err is a table that could not answer.
func (dl *DomainList) Match(domain string) (bool, error) {
	if dl == nil {
		return false, nil
	}
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if domain == "" {
		return false, nil
	}
	for _, it := range dl.items {
		if it.maps == nil {
			if domain == it.name || (strings.HasPrefix(it.name, ".") && strings.HasSuffix(domain, it.name)) {
				return !it.neg, nil
			}
			continue
		}
		_, found, err := it.maps.Lookup(domain)
		for d := domain; !found && err == nil; {
			i := strings.IndexByte(d[1:], '.')
			if i < 0 {
				break
			}
			d = d[i+1:]
			_, found, err = it.maps.Lookup(d)
		}
		if err != nil {
			return false, err
		}
		if found {
			return !it.neg, nil
		}
	}
	return false, nil
}

// Close releases the tables.
func (dl *DomainList) Close() {
	if dl == nil {
		return
	}
	for _, it := range dl.items {
		it.maps.Close()
	}
}
