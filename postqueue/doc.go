// Postqueue lists the mail queue and asks for queue runs: the user side of queue control.
//
// # Description
//
//	postqueue [-v] [-c config_dir] -p | -j | -f | -i queue_id | -s site
//
// -p prints the queue as Postfix's mailq does (sendmail -bp and mailq run it): "Mail queue
// is empty", or a header line, one block per message from maildrop/, active/, incoming/,
// deferred/ and hold/ in that order (queue ID with "*" for active, "!" for hold, "#" for
// force-expired; size; arrival time; sender, MAILER-DAEMON for <>), a right-aligned
// "(reason)" line from the defer log whenever the reason changes between recipients, the
// recipients still to deliver, and "-- N Kbytes in M Requests.".
//
// -j prints one JSON object per message and line: queue_name, queue_id, arrival_time,
// message_size, forced_expire, sender, recipients (address, delay_reason).
//
// -f asks qmgr to retry all mail now (trigger "FADI" on public/qmgr: forget dead
// transports, ignore retry times, scan deferred and incoming). -s site does the same (there
// is no fast-flush service; flushing everything delivers more than asked, never less). -i
// queue_id makes one deferred message due now and wakes qmgr.
//
// # Security
//
// The queue directories are readable by mail_owner only. -p and -j therefore ask the showq(8)
// service on public/showq for the report (reachable by group postdrop: postqueue is installed
// set-gid postdrop) and format it here. When showq cannot be reached and postqueue runs as
// root, it logs "warning: Mail system is down -- accessing queue directly" and reads the queue
// itself, with the same output; anyone else gets "fatal: Queue report unavailable - mail
// system is down" (exit 69), or "fatal: Connect to the Postfix showq service: Permission
// denied" (exit 70) when the socket exists but may not be reached. -f, -s and -i only write a
// trigger to public/qmgr (-i also touches the queue file).
//
// # Diagnostics
//
// "postqueue: fatal: Cannot flush mail queue - mail system is down" (exit 69) when qmgr's
// socket does not answer; usage errors exit 64.
//
// # Configuration parameters
//
//	queue_directory (/var/spool/postfix)
//	empty_address_recipient (MAILER-DAEMON)
//	trigger_timeout (10s)
//	showq_service_name (showq)
//
// The configuration directory is -c, else $MAIL_CONFIG, else /etc/postfix.
//
// # See also
//
// showq(8), postsuper(1), sendmail(1), qmgr(8), postfix-behaviour.md §3.8.
package main
