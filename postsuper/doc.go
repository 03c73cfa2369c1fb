// Postsuper is the superuser's queue maintenance tool: delete, hold, release and requeue
// messages, and repair the queue's structure.
//
// # Description
//
//	postsuper [-psSv] [-c config_dir] [-d queue_id] [-e queue_id] [-f queue_id]
//	          [-h queue_id] [-H queue_id] [-r queue_id] [directory ...]
//
// Each of -d, -e, -f, -h, -H and -r takes a queue ID, ALL, or "-" to read queue IDs from standard
// input (the first word of each line); each may be given more than once. The directory
// arguments (incoming, active, deferred, hold, maildrop) limit the queues searched; by
// default -d, -e, -f and -r search hold, incoming, active and deferred, -h incoming, active
// and deferred, -H hold. Operations run in the order delete, requeue, expire, expire and
// release, hold, release.
//
//	-d  delete the message and its bounce, defer and trace logs ("ID: removed").
//	-h  move the message to hold/, where qmgr never looks ("ID: placed on hold").
//	-H  move a held message to deferred/, due at once ("ID: released from hold").
//	-r  requeue: move the message to incoming/ with its defer and trace logs removed, so
//	    qmgr tries every recipient not yet delivered at once ("ID: requeued"). Unlike
//	    Postfix, which moves it to maildrop/ for pickup and cleanup to process again,
//	    Postern does not re-run cleanup: canonical and virtual mappings are not applied
//	    again.
//	-e  force-expire: mark the message (the group execute bit of its file, shown as "#" by
//	    mailq) so that qmgr returns it to the sender, as undeliverable, the next time it
//	    takes it into active/, instead of trying it again ("ID: expired"). The notice
//	    gives each recipient the reason of its last deferral, or "message is
//	    administratively expired" for one never deferred. A message on hold stays there
//	    until released. Files still being written and maildrop files are not marked.
//	    While the mail system runs, a message in active/ can be marked too: qmgr sees the
//	    mark when the message next enters active/.
//	-f  -e, then -H for a message on hold, so that it is returned at once.
//	-s  structure check (the default without other options): files of deferred/ and
//	    defer/ go into their one-character hash directory, files of the other queues to
//	    the top level.
//	-p  remove files that were never completed (owner bits not rwx) and are older than
//	    seven days.
//
// A summary follows, one line per kind of operation asked for, 0 included, in Postfix's
// order: "Requeued: N messages", "Deleted: ...", "Force-expired: ...", "Placed on hold:
// ...", "Released from hold: ..." (singular for 1). After a requeue or release qmgr is woken.
//
// Active messages: while the mail system runs (master answers on public/qmgr), files in
// active/ belong to qmgr, and postsuper leaves them alone with one warning instead of
// racing with deliveries in flight; retry when qmgr is done with them, or stop the system
// first. With the system down, qmgr moves active/ back to incoming/ at its next start, so
// operating on active/ is then safe.
//
// # Security
//
// Only root may run postsuper. Queue IDs and directory names are checked before any path
// is built from them. Hash subdirectories it creates are given to mail_owner (Postfix's
// postsuper runs as mail_owner), so that qmgr can write into them.
//
// # Diagnostics
//
// Messages go to standard error as "postsuper: ..." and to the mail log as
// postfix/postsuper. Usage errors exit 64.
//
// # Configuration parameters
//
//	queue_directory (/var/spool/postfix)
//	maillog_file, syslog_name
//
// The configuration directory is -c, else $MAIL_CONFIG, else /etc/postfix.
//
// # See also
//
// postqueue(1), qmgr(8), postfix-behaviour.md §3.9.
package main
