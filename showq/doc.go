// Showq serves the mail queue report to postqueue(1): the service behind mailq for ordinary
// users.
//
// # Synopsis
//
//	showq [generic daemon options]   (started by master: "showq unix n - y - - showq")
//
// # Description
//
// The queue directories are mode 0700 mail_owner, so a user cannot list them. postqueue -p
// and -j (and so mailq and sendmail -bp) connect to $queue_directory/public/showq instead;
// showq, running as mail_owner, reads maildrop/, active/, incoming/, deferred/ and hold/ in
// that order and streams each ready message (queue, ID, arrival time, size, force-expired
// flag, sender, and the recipients still to deliver with their reasons from the defer log) as
// pkg/ipc attribute lists (see postern/pkg/mailq), then closes the connection. postqueue
// formats the report; the client sends nothing. Files that vanish or cannot be parsed while
// the queue moves are skipped.
//
// As with every daemon, one process serves up to maxproc clients at a time and exits after
// max_idle without a client (package postern/pkg/service).
//
// # Security
//
// The socket is public (any member of group postdrop, i.e. the set-gid postqueue, may
// connect) and showq takes no input. A client that stops reading is dropped after
// ipc_timeout.
//
// # Diagnostics
//
// "warning: scan queue: ..." when a queue directory cannot be read; "warning: write queue
// report: ..." when the client connection fails other than by going away.
//
// # Configuration parameters
//
//	queue_directory (/var/spool/postfix)
//	ipc_timeout (3600s)
//	max_idle (100s)
//
// # See also
//
// postqueue(1), postern/pkg/mailq, postfix-behaviour.md §3.8.
package main
