// Newaliases rebuilds the alias databases.
//
//	newaliases [-c config_dir] [-v]
//
// # Description
//
// newaliases runs postalias(1) over every hash: or btree: table listed in alias_database
// (default hash:/etc/aliases, giving /etc/aliases.db). It prints nothing on success and exits
// 0. Other table types in the list are left alone with a warning. Running daemons pick up the
// new table within a second. "sendmail -bi" does the same.
//
// # Security
//
// As postalias(1).
//
// # Diagnostics
//
// postalias's warnings and fatal errors (for example "postalias: fatal: open /etc/aliases: No
// such file or directory"), exit status 1 on failure.
//
// # Configuration parameters
//
//	alias_database = hash:/etc/aliases
//	default_database_type = hash
//
// # See also
//
// postalias(1), aliases(5), local(8), sendmail(1).
package main
