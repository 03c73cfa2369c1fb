// Package rewrite holds Postfix's address rewriting rules shared by cleanup and smtpd:
// trivial-rewrite's canonical form (Canon), the key order in which canonical and virtual
// tables are searched (Finder, after Postfix's mail_addr_find), the mapping of a table
// result back to addresses (Finder.Map, after mail_addr_map), one-to-one canonical mapping
// (Map11) and recursive virtual alias expansion with its limits (Expand), and domain lists
// whose items may be tables (DomainList, for virtual_alias_domains).
package rewrite

import (
	"strings"

	"postern/pkg/addr"
)

// Canon is trivial-rewrite's canonicalisation in the "local" context.
type Canon struct {
	MyOrigin  string // appended to a bare "user" (append_at_myorigin = yes)
	MyDomain  string // appended to "user@host" without a dot when AppendDot
	AppendDot bool   // append_dot_mydomain
}

// Address returns the canonical form of a: "user" -> user@$myorigin, "user@host" ->
// user@host.$mydomain (AppendDot), a trailing dot of the domain removed. The null address
// stays empty; address literals ([1.2.3.4]) are never extended.
func (c *Canon) Address(a string) string {
	if a == "" {
		return ""
	}
	a = addr.Canonical(a, c.MyOrigin)
	if !c.AppendDot || c.MyDomain == "" {
		return a
	}
	local, domain := addr.Split(a)
	if domain == "" || strings.Contains(domain, ".") || strings.HasPrefix(domain, "[") {
		return a
	}
	return local + "@" + domain + "." + c.MyDomain
}
