package config

import (
	"fmt"
	"strings"

	"postern/pkg/printable"
)

// SMTPDRestrictionLists are the restriction lists smtpd evaluates, all at RCPT
// (smtpd_delay_reject = yes), in this order.
var SMTPDRestrictionLists = []string{
	"smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions",
	"smtpd_relay_restrictions", "smtpd_recipient_restrictions",
}

// SMTPDRestrictions are the restrictions smtpd implements (smtpd's tests check that its
// evaluation handles exactly these). Any other name in a restriction list gets, as in
// Postfix for an unknown name, "451 4.3.5 Server configuration error".
var SMTPDRestrictions = setOf(
	"check_client_access", "check_helo_access", "check_recipient_access", "check_recipient_maps",
	"check_relay_domains", "check_sender_access", "defer", "defer_if_permit",
	"defer_unauth_destination", "dunno", "permit", "permit_auth_destination", "permit_mynetworks",
	"permit_sasl_authenticated", "reject", "reject_authenticated_sender_login_mismatch",
	"reject_non_fqdn_recipient", "reject_non_fqdn_sender", "reject_sender_login_mismatch",
	"reject_unauth_destination", "reject_unauthenticated_sender_login_mismatch",
	"reject_unknown_recipient_domain", "reject_unknown_sender_domain", "reject_unlisted_recipient",
)

// postfixRestrictions are Postfix 3.7's smtpd restriction names; true for the ones that take
// the next list item as their argument.
var postfixRestrictions = map[string]bool{
	"check_address_map": true, "check_ccert_access": true, "check_client_a_access": true,
	"check_client_access": true, "check_client_mx_access": true, "check_client_ns_access": true,
	"check_etrn_access": true, "check_helo_a_access": true, "check_helo_access": true,
	"check_helo_mx_access": true, "check_helo_ns_access": true, "check_policy_service": true,
	"check_recipient_a_access": true, "check_recipient_access": true,
	"check_recipient_mx_access": true, "check_recipient_ns_access": true,
	"check_reverse_client_hostname_a_access": true, "check_reverse_client_hostname_access": true,
	"check_reverse_client_hostname_mx_access": true, "check_reverse_client_hostname_ns_access": true,
	"check_sasl_access": true, "check_sender_a_access": true, "check_sender_access": true,
	"check_sender_mx_access": true, "check_sender_ns_access": true, "permit_dnswl_client": true,
	"permit_rhswl_client": true, "reject_rbl": true, "reject_rbl_client": true,
	"reject_rhsbl_client": true, "reject_rhsbl_helo": true, "reject_rhsbl_recipient": true,
	"reject_rhsbl_reverse_client": true, "reject_rhsbl_sender": true, "sleep": true,

	"check_recipient_maps": false, "check_relay_domains": false, "defer": false,
	"defer_if_permit": false, "defer_if_reject": false, "defer_unauth_destination": false,
	"permit": false, "permit_auth_destination": false, "permit_inet_interfaces": false,
	"permit_mx_backup": false, "permit_mynetworks": false, "permit_naked_ip_address": false,
	"permit_sasl_authenticated": false, "permit_tls_all_clientcerts": false,
	"permit_tls_clientcerts": false, "reject": false,
	"reject_authenticated_sender_login_mismatch": false, "reject_invalid_helo_hostname": false,
	"reject_invalid_hostname": false, "reject_known_sender_login_mismatch": false,
	"reject_maps_rbl": false, "reject_multi_recipient_bounce": false,
	"reject_non_fqdn_helo_hostname": false, "reject_non_fqdn_hostname": false,
	"reject_non_fqdn_recipient": false, "reject_non_fqdn_sender": false,
	"reject_plaintext_session": false, "reject_sender_login_mismatch": false,
	"reject_unauth_destination": false, "reject_unauth_pipelining": false,
	"reject_unauthenticated_sender_login_mismatch": false, "reject_unknown_address": false,
	"reject_unknown_client": false, "reject_unknown_client_hostname": false,
	"reject_unknown_forward_client_hostname": false, "reject_unknown_helo_hostname": false,
	"reject_unknown_hostname": false, "reject_unknown_recipient_domain": false,
	"reject_unknown_reverse_client_hostname": false, "reject_unknown_sender_domain": false,
	"reject_unlisted_recipient": false, "reject_unlisted_sender": false,
	"reject_unverified_recipient": false, "reject_unverified_sender": false,
	"warn_if_reject": false,
}

// unimplementedRestrictions warns once per restriction name in the smtpd restriction lists
// (main.cf's and the -o ones of master.cf) that smtpd does not implement: smtpd answers the
// recipients it meets there "451 4.3.5 Server configuration error".
func unimplementedRestrictions(c *Config, svcs []Service) []string {
	var out []string
	seen := map[string]bool{}
	for _, ctx := range contexts(c, svcs) {
		classes := map[string]bool{}
		for _, n := range ctx.cfg.List("smtpd_restriction_classes") {
			classes[strings.ToLower(n)] = true
		}
		for _, list := range SMTPDRestrictionLists {
			items := ctx.cfg.List(list)
			for i := 0; i < len(items); i++ {
				name := items[i]
				r := strings.ToLower(name)
				takesArg, known := postfixRestrictions[r]
				if takesArg {
					i++
				}
				if SMTPDRestrictions[r] || seen[r] {
					continue
				}
				seen[r] = true
				what := "is not implemented by Postern"
				switch {
				case classes[r]:
					what = "(a class of smtpd_restriction_classes) is not implemented by Postern"
				case strings.Contains(r, ":"):
					what = "(a table without check_*_access before it) is not implemented by Postern"
				case !known:
					what = "is unknown"
				}
				out = append(out, fmt.Sprintf("%s: %s: restriction %s %s: recipients that reach it get 451 4.3.5 Server configuration error",
					ctx.where, list, printable.String(printable.Trunc(name, 100), '?'), what))
			}
		}
	}
	return out
}

// PostfixRestriction reports whether r is one of Postfix's smtpd restriction names.
func PostfixRestriction(r string) bool {
	_, ok := postfixRestrictions[strings.ToLower(r)]
	return ok
}
