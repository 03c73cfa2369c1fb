// Local is Postern's local(8) delivery agent: it delivers mail for
// recipients in mydestination to UNIX mailboxes, Maildirs and the
// mailbox_command, as the recipient.
//
// # Description
//
// local serves the private/local socket inherited from master. qmgr sends
// one delivery request per recipient (docs/DESIGN.md, "delivery
// request"); requests on one connection are handled one after another, and
// many connections are served at once. Each request names a file in the
// active queue (queue_name must be "active" and queue_id a bare queue ID:
// the request never carries a path) and the content offset in it. The
// reply is status=0 (sent), 4 (deferred) or 5 (bounced) with dsn=X.Y.Z and
// reason=TEXT.
//
// For each recipient, in Postfix's order:
//
//  1. The local part is folded to lower case and split at the first
//     recipient_delimiter character into user and extension ($EXTENSION).
//     An empty user gives 5.1.3 "null username in ...".
//  2. Loop check: if the recipient appears among the Delivered-To: values of
//     the message's header block (case-insensitively), the mail bounces with
//     5.4.6 "mail forwarding loop for ADDR".
//  3. Aliases (later: the seam is server.aliases).
//  4. The user is looked up in the passwd file. Unknown users bounce with
//     5.1.1 `unknown user: "name"`, except postmaster and mailer-daemon,
//     which are discarded with "warning: required alias not found: NAME"
//     and status=sent (discarded).
//  5. .forward (later: the seam is server.dotforward).
//  6. Mailbox: mailbox_command when set; else home_mailbox ending in "/"
//     (Maildir $HOME/home_mailbox, "delivered to maildir"); else
//     home_mailbox (mbox $HOME/home_mailbox); else
//     mail_spool_directory/USER (mbox, "delivered to mailbox").
//
// Every copy starts with "Return-Path: <SENDER>", "X-Original-To: ORIG"
// (enable_original_recipient, when the original recipient is known) and
// "Delivered-To: RCPT" (per prepend_delivered_header: mailboxes and
// Maildirs count as "file"). mbox files get Postfix's From_ line (two
// spaces before the date), >From quoting and a final empty line, under a
// dot lock and an fcntl lock (mailbox_delivery_lock); Maildir files are
// written tmp/ then linked into new/.
//
// mailbox_command runs directly when it is plain words, else through
// /bin/sh -c (or local_command_shell), with the recipient's uid and primary
// gid (root's: default_privs), in the home directory (or
// command_execution_directory), for at most command_time_limit. Its
// standard input is the From_ line, the header lines above and the message,
// unquoted and without a final empty line. The environment is PATH=/usr/bin:/bin,
// the export_environment variables, and HOME LOGNAME USER SENDER RECIPIENT
// LOCAL SHELL DOMAIN EXTENSION ORIGINAL_RECIPIENT CLIENT_HOSTNAME
// CLIENT_ADDRESS CLIENT_HELO CLIENT_PROTOCOL SASL_METHOD SASL_SENDER
// SASL_USERNAME, whose values are censored by command_expansion_filter.
// Exit 0 is "delivered to command: CMD"; output that starts with an
// enhanced status code decides the outcome; sysexits codes map as Postfix
// (75 and 71 defer); other codes bounce with `Command died with status N:
// "CMD"`; output is appended as ". Command output: TEXT".
//
// Deviations: the home directory must be accessible (stat as the user,
// else 4.3.0 "cannot access home directory X: ...") for home_mailbox and
// mailbox_command deliveries, and for all deliveries when
// require_home_directory = yes; Postfix checks only in the latter case.
// mailbox_transport(_maps), mailbox_command_maps, fallback_transport,
// luser_relay, biff and owner_request_special are not implemented yet.
//
// # Security
//
// local runs as root (master.cf unpriv = n) so that it can write as any
// user. setuid(2) in Go applies to every thread of the process, so a root
// local never changes identity itself: each delivery runs in a child,
// /proc/self/exe -deliver-child, started with the recipient's credentials
// (uid, gid, no supplementary groups) by the kernel at exec. The queue
// file is passed as descriptor 3 (close-on-exec in the child, so commands
// never see it), the job as JSON on standard input, and the child prints
// one attribute list (dsn, reason, warnings) on standard output. The
// child opens, locks, creates and writes everything as the user: Maildir
// directories are made by the user, and quotas apply. For the spool
// directory Postfix's rule holds: a world-writable spool is written as the
// user; a group-writable one (Debian root:mail 2775) with the user's uid
// and the directory's group so the dot lock can be made; otherwise as root,
// and a new mailbox is then chowned to the user.
//
// An unprivileged local (tests, make run) can only write as itself: it
// delivers in-process when the recipient has its own uid, and defers other
// recipients with 4.3.0 "cannot deliver as user NAME: insufficient
// privileges". That only happens in such test and demo setups.
//
// Measured cost of the child (BenchmarkDeliverChild and
// BenchmarkDeliverInProcess: 200 Maildir deliveries of a small message
// each, as root, `go test -run X -bench Deliver -benchtime 200x`, on the
// 2-core Firecracker VM we develop on, load average 6-9 from other builds):
// child 25-45 ms per delivery (about 28 ms of CPU in the child), in-process
// 4.8-5.2 ms (mostly the two fsyncs). On that VM a bare fork+exec of
// /bin/true costs about 22 ms and of an empty Go program about 25 ms, so
// the child's price there is process creation, not our code; the go-stack
// estimate for ordinary hardware is 1-3 ms. We keep the child anyway: it is
// the only way to give a concurrent Go daemon a clean per-delivery
// identity, commands need a process of their own regardless, and a crash
// or hang while writing a user's mailbox stays in the child. If delivery
// rates ever need it, a long-lived helper per uid could amortise the exec.
//
// Everything in a request and a message is untrusted: attribute lists are
// bounded by pkg/ipc, addresses to 2048 bytes, the header scan to 1 MiB and
// 1000 Delivered-To values, child and command output to fixed buffers;
// user names that could leave the spool directory are unknown users;
// control characters from requests never reach a header or a log line.
//
// # Diagnostics
//
// One line per recipient:
//
//	ID: to=<RCPT>, orig_to=<ORIG>, relay=local, delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=sent (delivered to maildir)
//
// orig_to only when it differs from to case-insensitively; delay is the
// time since arrival; a = arrival to active, b = active to the start of
// delivery, c = 0, d = the delivery. status is sent, deferred or bounced.
// Problems are logged as warnings (malformed requests, unreadable queue
// files, child failures, maildir access problems).
//
// # Configuration parameters
//
//	queue_directory (/var/spool/postfix)
//	mail_spool_directory (/var/mail)
//	home_mailbox (empty)
//	mailbox_command (empty; not $name-expanded)
//	recipient_delimiter (empty)
//	enable_original_recipient (yes)
//	prepend_delivered_header (command, file, forward)
//	mailbox_delivery_lock (fcntl, dotlock)
//	deliver_lock_attempts (20), deliver_lock_delay (1s), stale_lock_time (500s)
//	mailbox_size_limit (51200000)
//	strict_mailbox_ownership (yes)
//	command_time_limit (1000s)
//	command_expansion_filter (letters, digits, " !@%-_=+:,./")
//	command_execution_directory (empty: the home directory)
//	local_command_shell (empty)
//	export_environment (TZ MAIL_CONFIG LANG)
//	default_privs (nobody)
//	require_home_directory (no)
//	ipc_timeout (3600s)
//
// # See also
//
// qmgr(8), master(8), pkg/mbox, pkg/maildir, postfix-behaviour.md §6.
package main
