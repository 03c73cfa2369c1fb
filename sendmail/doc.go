// Sendmail is the Sendmail-compatible command line interface to Postern.
//
// # Synopsis
//
//	sendmail [options] [recipient ...]
//	mailq
//	newaliases
//
// # Description
//
// By default sendmail reads a message on standard input and queues it for delivery to the
// recipients named on the command line. Each argument is parsed as an RFC 822 address list,
// so "a, b" and "Name <addr>" work. Input ends at end of file, or at a line with a single
// "." unless -i or -oi is given. A CR before LF is removed; leading "From " lines are
// skipped. The sender is the login name of the real user ID (cleanup(8) qualifies it with
// $myorigin) unless -f says otherwise; the full name comes from -F, else $NAME, else the
// GECOS field.
//
// sendmail turns the message into queue file records and pipes them to postdrop(1), which
// writes them into the maildrop queue; pickup(8) then passes the message to cleanup(8). So
// sendmail works while the mail system is down: the message waits in maildrop. sendmail
// exits 0 only after postdrop has made the file durable.
//
// Invoked as mailq it behaves as sendmail -bp, as newaliases as sendmail -bi.
//
// With -bs sendmail speaks SMTP on standard input and output as the invoking user, for
// programs that submit that way. Postfix runs smtpd stand-alone for this; Postern has a
// small responder of its own with smtpd's reply texts: HELO, EHLO (PIPELINING, SIZE, VRFY,
// ENHANCEDSTATUSCODES, 8BITMIME, DSN, SMTPUTF8 when enabled; no STARTTLS, AUTH, ETRN or
// CHUNKING), MAIL (SIZE, BODY, RET, ENVID, SMTPUTF8, AUTH ignored), RCPT (NOTIFY, ORCPT),
// DATA, RSET, NOOP, VRFY, QUIT. MAIL's and RCPT's arguments are parsed by
// postern/pkg/smtpcmd, smtpd's parser, so a malformed one gets the same Postfix reply from
// both. Each message goes to postdrop as a plain submission would;
// "250 2.0.0 Ok: queued as ID" names the maildrop file, and pickup later gives the message
// the queue ID that the mail log shows. No access restrictions apply (the user could run
// sendmail anyway); MAIL FROM gets "452 4.3.1 Insufficient system storage" under the same
// free-space rule as smtpd, a failed postdrop "451 4.3.0 Error: queue file write error". End
// of input ends the dialogue (a message cut short is discarded) and sendmail exits 0.
//
// # Options
//
//	-t          also send to the addresses in the To:, Cc: and Bcc: headers (only
//	            Resent-To:, Resent-Cc:, Resent-Bcc: when the header has a Resent- field).
//	            cleanup removes Bcc: from the delivered copies.
//	-i, -oi     a line with a single "." is text, not the end of the input.
//	-f sender   envelope sender ("" or "<>" = the null sender); -r is the same.
//	-F name     the sender's full name.
//	-N dsn      DSN notification: never, or a list of success, delay, failure.
//	-R ret      DSN return: full or hdrs.  -V envid: DSN envelope ID.
//	-B type     body type 7BIT or 8BITMIME.
//	-G          gateway submission: rewrite addresses in the remote context.
//	-C dir      use the configuration in dir.
//	-v          ask for a delivery report (trace_flags); -v -v is verbose.
//	-bm         queue a message (the default).
//	-bp         list the queue (runs postqueue -p).
//	-bi, -I     rebuild the aliases databases (runs postalias on $alias_database, or on
//	            the -oAfile values).
//	-bd, -bl    start the mail system (runs postfix start).
//	-q          process the queue now (postqueue -f); -qRsite, -qIqueue_id flush one
//	            site or message; -q<interval> is ignored.
//	-bs         an SMTP dialogue on standard input and output (see below).
//	-bv         address verification: not implemented yet (exit 69).
//	-n          is refused, as in Postfix. -Am -Ac -bh -bH -c -e -h -L -m -O -o7 -o8 -om
//	            -p -U -x -X are accepted and ignored. "--" ends the options.
//
// # Security
//
// sendmail needs no privileges: it runs as the invoking user, and the set-group-ID
// postdrop(1) is the only way into the maildrop queue. The real user ID is what pickup
// records and logs as the submitter (uid=N), whatever -f says.
//
// # Diagnostics
//
// Problems are reported on standard error as "sendmail: fatal: sender(uid): text" (and to
// the mail log when it is not standard error). Exit status as sysexits.h: 0 queued; 64
// EX_USAGE (bad options, no recipients: "Recipient addresses must be specified on the command
// line or via the -t option", "No recipient addresses found in message header"); 65
// EX_DATAERR (input read error); 69 EX_UNAVAILABLE (postdrop or another command cannot be
// run, "message file too big"); 71 EX_OSERR ("no login name found for user ID N"); 75
// EX_TEMPFAIL ("queue file write error": postdrop failed); 78 EX_CONFIG (unreadable main.cf).
//
// # Configuration parameters
//
//	command_directory (/usr/sbin)            where postdrop, postqueue, postalias are
//	                                         (after this executable's own directory).
//	daemon_directory (/usr/lib/postfix/sbin) searched last.
//	message_size_limit (10240000)            larger input is refused with exit 69.
//	line_length_limit (2048)                 longer lines are stored in pieces.
//	header_size_limit (102400)               header bytes looked at by -t.
//	smtpd_banner ($myhostname ESMTP $mail_name)  -bs greeting.
//	smtpd_recipient_limit (1000)             -bs recipients per message.
//	disable_vrfy_command (no)                -bs VRFY.
//	smtpd_discard_ehlo_keywords (empty)      -bs EHLO keywords not shown.
//	smtputf8_enable (yes)                    -bs offers SMTPUTF8.
//	queue_minfree (0)                        -bs: free bytes MAIL FROM insists on (and
//	                                         1.5 message_size_limit).
//	alias_database (hash:/etc/aliases)       what newaliases rebuilds.
//
// # See also
//
// postdrop(1), pickup(8), cleanup(8), postqueue(1), postalias(1).
package main
