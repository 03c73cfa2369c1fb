// Postmap builds and queries Postfix lookup tables.
//
//	postmap [-Nfinoprsuvw] [-b|-h] [-c config_dir] [-d key|-] [-q key|-] [type:]file ...
//
// # Description
//
// Without -q, -d or -s, postmap builds each indexed table (hash:, btree:; the type defaults
// to default_database_type) from its source file: FILE -> FILE.db. Source lines are "key
// value"; a line starting with whitespace continues the previous one; blank lines and '#'
// comments are ignored; a "double-quoted key" may contain spaces. Keys are folded to lower
// case unless -f. A duplicate key keeps its FIRST value with the warning
// "FILE.db: duplicate entry: "key"" (-r: the last value wins; -w: no warning).
//
// The table is written to a temporary file in the same directory, fsync'd and renamed over
// FILE.db, so running daemons see the old table or the new one, never a half-built one; they
// switch to the new one by themselves within a second (no "postfix reload" needed).
//
// FILE.db is Postern's format (a pebble sstable), not Berkeley DB: a FILE.db left behind by
// Postfix is detected and reported with "run postmap FILE" rather than misread.
//
//	-q key   print the value of key (one literal lookup through the tables in order);
//	         exit 0 when found, 1 (no output) when not.
//	-q -     read keys from standard input, print "key<TAB>value" for each found;
//	         with -h/-b the keys are the message's logical header lines / body lines.
//	-s       print every entry as "key<TAB>value", in key order.
//	-d key   delete key (-d -: keys from standard input); exit 0 if any was found.
//	-i       incremental: add "key value" lines from standard input to the existing table.
//	-f       do not fold keys to lower case.    -r, -w   duplicate handling (above).
//	-p       new tables get mode 0644 instead of the source file's read permissions.
//	-o       when run as root, do not give the table to the source file's owner.
//	-c dir   configuration directory.           -N, -n, -u, -U, -v, -m: accepted, no effect.
//
// Any readable type can be queried: hash:, btree:, texthash:, inline:{...}, static:,
// regexp:, pcre:, cidr:, unix:passwd.byname.
//
// # Security
//
// postmap runs with the invoker's privileges. Run as root, it gives a new table to the owner
// of its source file (unless -o).
//
// # Diagnostics
//
// Problems go to standard error as "postmap: warning: ..." or "postmap: fatal: ..." (exit 1),
// for example "postmap: fatal: open FILE: No such file or directory". Silence is success.
//
// # Configuration parameters
//
//	config_directory = /etc/postfix
//	default_database_type = hash
//
// # See also
//
// postalias(1), newaliases(1), postconf(5), DATABASE_README, pkg/table.
package main
