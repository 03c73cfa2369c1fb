// Postdrop writes a locally submitted message into the maildrop queue.
//
// # Synopsis
//
//	postdrop [-rv] [-c config_dir]
//
// # Description
//
// postdrop reads one message as queue file records on standard input (what sendmail(1)
// produces: attributes, an optional full name, the sender, recipients, M, the content as N/L
// records, X, the recipients extracted by sendmail -t, E), checks that it holds only the
// records a local submission may carry, and writes it to $queue_directory/maildrop/ID with its
// own T (arrival time) record first. The file is created mode 0600, written, set to 0744,
// fsync'ed and closed; only then does postdrop exit 0. It then wakes pickup(8) by writing W
// to public/pickup; when that fails the message waits for pickup's next scan.
//
// Standard input ending before the E record means the client gave up: the file is removed
// and postdrop exits 0, as Postfix's does.
//
// # Options
//
//	-c config_dir  read main.cf from config_dir (default $MAIL_CONFIG or /etc/postfix).
//	-r             accepted for compatibility with Postfix's sendmail (records on stdin).
//	-v             verbose: report the queue ID on standard error.
//
// # Security
//
// Installed set-group-ID postdrop, postdrop is the only way into maildrop (mode 1730, group
// postdrop): a user can create files there but cannot list, read or replace anybody else's.
// The file belongs to the real UID, which pickup records as the submitter. When running
// set-group-ID, postdrop accepts a configuration directory other than the default only when it
// is listed in the default main.cf's alternate_config_directories or
// multi_instance_directories. Attributes outside the local-submission set are dropped with a
// warning, and any other unexpected record is fatal.
//
// # Diagnostics
//
// Problems go to standard error as "postdrop: warning: ..." or "postdrop: fatal: ...".
// Exit status: 0 on success or when the client canceled; 64 for bad options; 65 for a
// malformed record stream; 75 when the queue file cannot be written.
//
// # Configuration parameters
//
//	queue_directory (/var/spool/postfix)   where maildrop/ and public/pickup are.
//	alternate_config_directories (empty)   other configuration directories allowed with -c.
//	multi_instance_directories (empty)     the same, for multi-instance setups.
//
// # See also
//
// sendmail(1), pickup(8), cleanup(8).
package main
