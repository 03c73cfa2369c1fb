// Package resolve is Postfix's trivial-rewrite as a library: the one place that decides
// what an address means to this mail system.
//
//   - Canon is the canonical form of an address in the "local" rewriting context
//     (rewrite_clnt): source routes stripped, swap_bangpath (dom!user -> user@dom),
//     allow_percent_hack (user%dom -> user@dom), append_at_myorigin, append_dot_mydomain and
//     the trailing dot of the domain.
//   - List is Postfix's match_list grammar, shared by every list parameter: names, "/file"
//     includes, "type:table" lookups, "!" negation, ".domain" or parent-domain matching per
//     parent_domain_matches_subdomains, and addresses or CIDR blocks for host lists such as
//     mynetworks. Domains compare case-insensitively and in their A-label (IDNA) form.
//   - Resolver is resolve_clnt: the address class of a recipient (local, virtual alias,
//     virtual mailbox, relay, default), address literals checked against inet_interfaces
//     and proxy_interfaces, the percent hack applied to local domains, and the transport
//     and next hop with transport_maps, relayhost and the *_transport parameters.
//
// smtpd (relay control, unknown-recipient checks, mynetworks and the other client lists),
// cleanup (canonical form, which domains count as local for virtual and canonical lookups),
// qmgr (the transport of each recipient) and local (whether a forwarded address stays
// here) all ask this package, so they cannot give different answers for one address.
// testdata/classes.txt is the table every one of them is tested against.
package resolve
