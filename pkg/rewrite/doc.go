// Package rewrite holds Postfix's table-driven address rewriting shared by cleanup and
// smtpd: the key order in which canonical and virtual tables are searched (Finder, after
// Postfix's mail_addr_find), the mapping of a table result back to addresses (Finder.Map,
// after mail_addr_map), one-to-one canonical mapping (Map11) and recursive virtual alias
// expansion with its limits (Expand). The canonical form of an address and the domain
// lists (which domains are local, virtual, relay) are pkg/resolve's.
package rewrite
