// Postconf displays and edits Postern's (Postfix-compatible) configuration.
//
// # SYNOPSIS
//
//	postconf [-dfhHnvx] [-c config_dir] [-o name=value] [name ...]
//	postconf [-e] [-c config_dir] name=value ...
//	postconf -X [-c config_dir] name ...
//	postconf -# [-c config_dir] name ...
//	postconf -M [-fx] [-c config_dir] [service[/type] ...]
//	postconf -M [-e] [-c config_dir] service/type=value ...
//	postconf -M# [-c config_dir] service/type ...
//	postconf -MX [-c config_dir] service/type ...
//	postconf -F [-fhHx] [-c config_dir] [service[/type[/field]] ...]
//	postconf -F [-e] [-c config_dir] service/type/field=value ...
//	postconf -P [-fhHx] [-c config_dir] [service[/type[/parameter]] ...]
//	postconf -P [-e] [-c config_dir] service/type/parameter=value ...
//	postconf -PX [-c config_dir] service/type/parameter ...
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
//	-M             Print master.cf entries as Postfix does: the seven columns at columns
//	               0, 11, 17, 25, 33, 41, 49 (at least one space apart), then the command
//	               and its arguments; "-o name=value" settings, with "{name=value}" when the
//	               value has whitespace. Arguments select entries by service name or
//	               service/type ("*" matches any); one that selects nothing is a warning
//	               ("unmatched request").
//	-F             Print master.cf fields as "service/type/field = value", the fields being
//	               service, type, private, unprivileged, chroot, wakeup, process_limit and
//	               command (with the arguments). Select with service[/type[/field]].
//	-P             Print the -o settings of master.cf entries as
//	               "service/type/parameter = value", sorted by name per entry. Select with
//	               service[/type[/parameter]].
//	-f             With -M, -F or -P (ignored otherwise): fold lines before 80 columns, with a four-space
//	               indent; an option with a value always starts a new line.
//	-v             Accepted for compatibility and ignored.
//
// With -M, -F or -P, -e (implied by "=") edits master.cf: -Me "name/type=entry" replaces the
// first entry that matches name/type or the new entry's own name and type, deletes later
// ones, and appends the entry when none matched; -Fe "name/type/field=value" sets one field
// (command: the command and all its arguments) of every matching entry; -Pe
// "name/type/parameter=value" updates every "-o parameter=..." of the matching entries or adds
// one after their last option. -MX deletes entries, -PX deletes -o settings, -M# comments
// entries out line by line. Rewritten entries are written in the folded layout of -Mf;
// every other line, comments and blank lines included, stays byte for byte (comment lines
// between an entry's continuation lines stay before it). An -Fe/-Pe request that matches
// nothing is a warning ("unmatched service_name/type"); an -MX/-M# one is silently ignored,
// as in Postfix. Field values are checked as master(8) would (e.g. "invalid chroot field").
// Option combinations Postfix refuses are refused with its words ("specify one of -F -M",
// "with option -F, do not specify -X").
//
// Edits are made under an exclusive lock on the configuration directory: the new text is
// written to a temporary file in the same directory, flushed to disk, and renamed over
// main.cf (or master.cf), so readers see either the old or the new file, never a partial one. The file
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
