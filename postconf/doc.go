// Postconf displays and edits Postern's (Postfix-compatible) configuration.
//
// # SYNOPSIS
//
//	postconf [-dfhHnvx] [-c config_dir] [-o name=value] [name ...]
//	postconf [-e] [-c config_dir] name=value ...
//	postconf -X [-c config_dir] name ...
//	postconf -# [-c config_dir] name ...
//	postconf -M [-f] [-c config_dir] [service[/type] ...]
//
// # DESCRIPTION
//
// Without options postconf prints every main.cf parameter as "name = value", sorted by name,
// with the value as written in main.cf or, when not set there, the built-in default. Values
// are not expanded unless -x is given. With name arguments only those parameters are
// printed; an unknown name gives "postconf: warning: NAME: unknown parameter" on standard
// error and postconf carries on.
//
// Parameters set in main.cf that are neither built in, nor referenced as $name by another
// value, nor named after a master.cf service or with a per-transport suffix
// (e.g. relay_destination_concurrency_limit) are reported as
// "postconf: warning: DIR/main.cf: unused parameter: name=value".
//
// # OPTIONS
//
//	-c config_dir  Use config_dir instead of $MAIL_CONFIG or /etc/postfix.
//	-d             Print built-in default values (as Postfix 3.7.11 "postconf -d").
//	-n             Print only parameters set in main.cf (and by -o).
//	-h             Print values only, without "name = ".
//	-H             Print names only.
//	-x             Expand $name references in the printed values, recursively.
//	-o name=value  Override a parameter for this invocation (display only).
//	-e             Edit main.cf: each name=value argument (spaces around = are allowed when
//	               quoted) replaces every existing definition of name in place (its
//	               continuation lines are removed); names not yet present are appended at the
//	               end. Comments, blank lines and order are preserved. Implied when an argument
//	               contains "=". main.cf is created when missing.
//	-X             Delete the named parameters (with their continuation lines) from main.cf.
//	-#             Comment out the named parameters (with their continuation lines).
//	-M             Print master.cf entries in normalized columns, for example
//	               "smtp       inet  n       -       y       -       -       smtpd".
//	               Arguments select entries by service name or service/type.
//	-f, -v         Accepted for compatibility and ignored.
//
// Edits are made under an exclusive lock on the configuration directory: the new text is
// written to a temporary file in the same directory, flushed to disk, and renamed over
// main.cf, so readers see either the old or the new file, never a partial one. The file
// keeps its permissions (and, when run as root, its owner).
//
// # EXIT STATUS
//
// 0 on success; 1 after a fatal error, reported as "postconf: fatal: ...".
//
// # ENVIRONMENT
//
//	MAIL_CONFIG  Configuration directory when -c is not given.
//
// # FILES
//
//	/etc/postfix/main.cf    main configuration
//	/etc/postfix/master.cf  service table
//
// # SEE ALSO
//
// postconf(5), master(5) in the Postfix documentation; package postern/pkg/config.
package main
