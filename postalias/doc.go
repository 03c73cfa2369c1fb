// Postalias builds and queries Postfix alias databases.
//
//	postalias [-Nfinoprsuvw] [-c config_dir] [-d key|-] [-q key|-] [type:]file ...
//
// # Description
//
// postalias is postmap(1) for aliases(5) files: source lines are "name: value, value, ...",
// names are folded to lower case (and may be "quoted"), values are stored normalised
// ("a, b,\n  c" becomes "a, b, c"), and every table gets the entry "@" -> "@", Sendmail's
// "alias database complete" marker. Output of -q - and -s is "name:<TAB>value". All other
// options, the atomic rebuild and the FILE.db format are postmap's.
//
// Debian's Postfix also stores YP_LAST_MODIFIED and YP_MASTER_NAME; Postern does not (there is
// no NIS).
//
// # Security
//
// As postmap(1). local(8) runs commands and files named in an alias table as the owner of
// FILE.db (default_privs when that is root), so a table built by root for a non-root source
// is handed to the source's owner.
//
// # Diagnostics
//
// "postalias: warning: FILE, line N: need name:value pair" for a malformed line;
// "postalias: warning: FILE.db: duplicate entry: "name"" (first value kept); fatal errors exit 1.
//
// # Configuration parameters
//
//	alias_database = hash:/etc/aliases
//	default_database_type = hash
//
// # See also
//
// newaliases(1), postmap(1), aliases(5), local(8).
package main
