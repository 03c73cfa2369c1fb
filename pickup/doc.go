// Pickup moves locally submitted mail from the maildrop queue into cleanup.
//
// # Synopsis
//
//	pickup [generic daemon options]   (started by master: "pickup unix n - y 60 1 pickup")
//
// # Description
//
// pickup is resident. It watches $queue_directory/maildrop with fsnotify, scans it on every
// trigger on its public/pickup socket (postdrop writes W after each new file; master writes
// W every wakeup period) and every ten seconds as a safety net. Files still being written
// (owner bits not rwx) are skipped.
//
// Each ready file is checked: it may hold only what postdrop accepts (T, A, F, S, R, M, N/L
// content, X, extracted A/R, E, in that order, with only the local-submission attributes).
// pickup then opens a stream to cleanup(8) with pkg/cleanup, as smtpd does: it gets the new
// queue ID, sends T (postdrop's posting time, which becomes the arrival time), A
// rewrite_context (local unless the file says remote), A log_message_origin=local, the
// file's attributes, F, S, O+R per recipient, M, its own header
//
//	Received: by $myhostname ($mail_name, from userid UID)
//		id QUEUEID; DATE
//
// (DATE is the maildrop file's modification time), the content, X, the recipients sendmail
// -t extracted, and E. The UID is the file's owner: postdrop runs set-group-ID only, so the
// file belongs to the submitting user. When cleanup answers status 0 the maildrop file is
// removed. A 4xx answer or a broken connection leaves the file for a later try (after ten
// seconds at the earliest); a 5xx answer removes it with a warning (bounce notices for such
// local submissions are not produced yet). Up to four files are in cleanup's hands at once.
//
// # Security
//
// pickup reads files that any local user can create. It opens them without following
// symbolic links, ignores anything but regular files, refuses (removes) files with more than
// one link, and never trusts the content segment between its checking pass and its copying
// pass: a file changed in between is treated as corrupt. Attributes beyond the
// local-submission set are dropped.
//
// # Diagnostics
//
// Per message: "ID: uid=UID from=<SENDER>" (with " orig_id=NAME" for mail requeued by
// postsuper -r, that is files owned by mail_owner without world read permission).
// Problems: "warning: NAME: uid=UID: REASON" followed by "warning: saving corrupt file "NAME"
// from queue "maildrop" to queue "corrupt"", "warning: NAME: uid=UID: file has N links",
// "warning: uid=UID: ignoring attribute record: NAME", "warning: ID: message has been queued
// for N days", "warning: NAME: uid=UID: connect to public/cleanup: ...; will retry".
//
// # Configuration parameters
//
//	queue_directory (/var/spool/postfix)  maildrop/, corrupt/ and public/cleanup.
//	myhostname (the system's name)        in the Received: header.
//	mail_name (Postfix)                   in the Received: header.
//	mail_owner (postfix)                  owner of requeued mail.
//	ipc_timeout (3600s)                   bound on one exchange with cleanup.
//
// # See also
//
// sendmail(1), postdrop(1), cleanup(8), master(8).
package main
