// Bounce sends delivery status notifications: non-delivery notices for mail that bounced or
// expired, delay warnings, and delivery reports (sendmail -v, DSN NOTIFY=SUCCESS).
//
// # Description
//
// bounce is started by master(8) on private/bounce (master.cf: "bounce unix - - n - 0
// bounce"; the same program may also serve "defer" and "trace"). qmgr(8) sends one attribute
// list per request (docs/DESIGN.md "pkg/ipc"): request=flush (a non-delivery notice from
// bounce/ID), request=warn (a delay warning from defer/ID), request=trace (a "Mail Delivery
// Status Report" from trace/ID, for sendmail -v) or request=success (a "Successful Mail
// Delivery Report" from trace/ID, for NOTIFY=SUCCESS), queue_name and queue_id of the
// original, and optionally sender, dsn_envid and dsn_ret, which override the queue file's.
// The answer is status=0 when the notice was queued (or there was nothing to report), else
// status=1 and a reason; the log is then kept and qmgr keeps the message queued and asks
// again later.
//
// A notice is an RFC 3464 multipart/report; report-type=delivery-status message in Postfix's
// layout and words (postfix-behaviour.md §7): a text/plain part with the built-in template
// ("This is the mail system at host $myhostname." ...) and one "<rcpt>: reason" paragraph per
// recipient wrapped at 79 columns; a message/delivery-status part with Reporting-MTA,
// X-Postfix-Queue-ID, X-Postfix-Sender, Arrival-Date, and per recipient Final-Recipient,
// Original-Recipient, Action, Status, Remote-MTA and Diagnostic-Code (smtp; ... when the
// agent reported a remote reply, else X-Postfix; reason); and the returned message as
// message/rfc822, or its headers as text/rfc822-headers when it is larger than
// bounce_size_limit, when the sender asked for RET=HDRS, and in delay warnings and
// postmaster copies. It comes from the null sender <> with "From: Mail Delivery System
// <MAILER-DAEMON@$myorigin>" (header_from_format = obsolete: "MAILER-DAEMON@$myorigin (Mail
// Delivery System)") and is submitted through cleanup(8) in local rewrite context, which
// adds Message-Id: and Date:.
//
// Who gets what: the envelope sender gets the notice, listing the recipients whose DSN
// NOTIFY asks for it (all, without NOTIFY). Mail from the null sender never gets one: when
// notify_classes contains bounce or 2bounce a double bounce with the whole message goes to
// 2bounce_notice_recipient from double_bounce_sender@$myorigin, otherwise the notice is
// dropped (logged). A failed double bounce is discarded with a warning. With bounce (delay)
// in notify_classes, bounce_notice_recipient (delay_notice_recipient) also gets a
// postmaster copy with the headers only. A non-delivery log is removed once its notices
// are queued; a defer log stays (mailq shows it).
//
// A delivery report lists every entry of the trace log that qmgr wrote, whatever the
// recipient's NOTIFY, with the action recorded there (Action: delivered, relayed, and for
// sendmail -v also failed or delayed), the agent's text as "<rcpt>: reason" in the first part
// (e.g. "delivered to mailbox"), and the original's headers as text/rfc822-headers
// ("Message Headers"). Like Postfix, it is never sent about mail from <> or from the
// double-bounce sender (logged, and the log is removed) and has no postmaster copy. The
// trace log is removed once the report is queued.
//
// # Security
//
// bounce runs as mail_owner (unpriv). Log and queue file text is untrusted: control and
// non-ASCII characters are masked before they go into a notice.
//
// # Diagnostics
//
// "ID: sender non-delivery notification: NEWID", "ID: sender delay notification: NEWID",
// "ID: sender delivery status notification: NEWID", "ID: not sending trace/success
// notification for single-bounce message" (or double-bounce),
// "ID: postmaster non-delivery notification: NEWID", "ID: postmaster delay notification:
// NEWID"; "warning: ID: undeliverable postmaster notification discarded"; problems with
// cleanup or the queue file as warnings.
//
// # Configuration parameters
//
//	queue_directory (/var/spool/postfix)
//	myhostname, myorigin ($myhostname), mail_name (Postfix)
//	bounce_size_limit (50000)
//	notify_classes (resource, software)
//	bounce_notice_recipient, 2bounce_notice_recipient, delay_notice_recipient (postmaster)
//	double_bounce_sender (double-bounce)
//	header_from_format (standard)
//	delay_warning_time (0h), maximal_queue_lifetime (5d)
//	line_length_limit (2048), ipc_timeout (3600s)
//
// bounce_template_file is not supported: the built-in templates are used.
//
// # See also
//
// qmgr(8), cleanup(8), postfix-behaviour.md §7, RFC 3464.
package main
