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
//  1. The local part (and the domain) is folded to lower case and split
//     at the first recipient_delimiter character into user and extension
//     ($EXTENSION). An empty user gives 5.1.3 "null username in ...".
//     postmaster, mailer-daemon and double_bounce_sender are never split;
//     with owner_request_special = yes and "-" among the delimiters,
//     neither are owner-NAME and NAME-request.
//  2. Loop check: if the recipient appears among the Delivered-To: values of
//     the message's header block (case-insensitively), the mail bounces with
//     5.4.6 "mail forwarding loop for ADDR".
//  3. Aliases: alias_maps is searched for the local part with its
//     extension, then without it (see "Aliases and .forward" below).
//  4. The user is looked up in the passwd file. An unknown user goes to
//     luser_relay when that is set (see "Unknown users" below); else the
//     mail bounces with 5.1.1 `unknown user: "USER"` (the name without
//     its extension), except for postmaster and mailer-daemon, which are
//     discarded with "warning: required alias not found: NAME" and
//     status=sent (discarded).
//  5. .forward: the first existing file of forward_path, read as the user.
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
// written tmp/, flushed, linked into new/, and new/ flushed before the
// reply (flushes shared by concurrent deliveries: "Security").
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
// mailbox_transport(_maps), mailbox_command_maps, fallback_transport(_maps)
// and biff are not implemented yet.
//
// # Aliases and .forward
//
// alias_maps is opened once at start (unsupported types are skipped with a
// warning). A lookup failure defers with 4.3.0 "table lookup failure". Each
// value is an aliases(5) list: addresses, \user (that user's mailbox, no
// further expansion), "|command", /file/name (a name ending in "/" is a
// Maildir) and :include:/path. A .forward file has the same syntax.
//
// An address that package postern/pkg/resolve puts in the local class
// (mydestination or an address literal of inet_interfaces/proxy_interfaces,
// after its canonical form: a bare name gets @$myorigin, dom!user is
// user@dom; user%dom@here resolves to user@dom) is delivered in the same attempt, through aliases, .forward
// and mailbox again, and logged on its own line, to=<ADDRESS>,
// orig_to=<RECIPIENT>. It is instead resubmitted through cleanup as a new
// message ("forwarded as NEWID", with a Received: line and Delivered-To:)
// when it is not local, when it comes from an :include: file, when the
// alias has an owner-NAME companion (the new message's sender is
// owner-NAME@$myorigin, or its value with expand_owner_alias = yes), and
// when a .forward names another user. An alias that names itself, and a
// user named in her own .forward, mean that user's mailbox; nesting deeper
// than 100 bounces with 5.4.6 "alias database loop for NAME"; destinations
// already handled in this request are skipped. One request expands to at
// most 1000 destinations: a list that would pass the limit bounces whole
// with 5.2.4 "too many destinations in the expansion of ADDR (limit 1000)".
// The request's status is deferred when any destination was deferred (it
// is tried again, as Postfix), else bounced when any bounced, else sent.
// The user mailboxes of one expansion are written concurrently (at most
// 32 at once), so that an alias of many users shares its flushes; their
// lines are logged in expansion order, and the request is answered when
// all are done.
//
// Extensions: when user+foo matched an alias only as user, its address
// destinations get +foo inserted before the "@" (a@x becomes a+foo@x,
// with the first character of recipient_delimiter) if
// propagate_unmatched_extensions lists "alias"; a .forward likewise with
// "forward", unless the file's name used $extension (.forward+foo has
// matched it). Postfix's default (canonical, virtual) lists neither, so by
// default local passes no extension on; cleanup handles the other two
// classes.
//
// # Unknown users
//
// luser_relay (empty by default) is where mail for a local recipient that
// is neither an alias nor a passwd account goes, postmaster and
// mailer-daemon included: as in Postfix the relay comes before their
// discard rule. Its value is expanded per recipient with $user, $local,
// $mailbox (= $local), $extension, $domain, $recipient and
// $recipient_delimiter (the delimiter found in the address), and the
// ${name?value}, ${name:value} forms; main.cf's own parameters are not
// expanded in it. The result is one address, canonicalised like an alias
// destination: a local one is delivered in the same attempt through its
// aliases, .forward and mailbox, a remote one resubmitted ("forwarded as
// NEWID"), logged as to=<TARGET>, orig_to=<RECIPIENT>; its X-Original-To
// and Delivered-To stay the recipient's. No extension is propagated to
// it. Several unknown users in one expansion give the relay one copy.
// Deviation: a relay target that is itself unknown (luser_relay = $user,
// or a name with no account) bounces with 5.1.1; Postfix drops such mail
// without a status. smtpd accepts mail for unknown users only when
// local_recipient_maps is empty (or lists them).
//
// Rights: commands and files from an alias run as the owner of the alias
// table, or as default_privs when root owns it; from a .forward as the user
// (default_privs for root); an :include: file listed in a root-owned alias
// lends its owner's rights. They are allowed only from the sources named
// in allow_mail_to_commands and allow_mail_to_files (default alias,
// forward), else 5.7.1 "mail to command is restricted" / "mail to file is
// restricted". A file destination is appended mbox-style with the mailbox
// locks ("delivered to file: PATH"); an executable one bounces with 5.7.1
// "file is executable".
//
// .forward and :include: files are opened with the reader's rights on the
// opening thread alone (setfsuid, setfsgid and setgroups change one thread;
// other deliveries keep root). A .forward is ignored with a warning when it
// is not a regular file (a symbolic link included), is owned by neither the
// user nor root, is world writable, or cannot be opened; an empty one means
// normal delivery. An :include: file must be an absolute path to a regular
// file that is not world writable, else 5.3.5 "mail system configuration
// error" with a warning naming the problem.
//
// # Security
//
// local runs as root (master.cf unpriv = n) so that it can write as any
// user, and as in Postfix every write happens with the recipient's uid and
// gid (the one exception is Postfix's too: a spool directory that only
// root may write to, below). setuid(2) in Go applies to every thread of
// the process, so a root local never changes identity as a whole. It
// writes as the user in one of two ways.
//
// Maildir deliveries are written on a thread of local's own that is the
// user (pkg/runas.Threads): one goroutine per identity (uid, gid), locked
// to its OS thread for life, whose file-system identity is the user's
// (setfsuid, setfsgid, setgroups([gid]): raw per-thread system calls)
// and which has dropped every capability, effective, permitted and
// inheritable (capset(2) on that thread only). It creates, writes and
// links with exactly the user's rights: Maildir directories are made by
// the user, the files are the user's, and without CAP_SYS_RESOURCE disk
// quotas and reserved blocks apply as to the user. The thread never
// becomes root again: it is never unlocked, so it ends with its goroutine
// (idle 30 s, or the least recently used idle one when 64 identities have
// a thread; beyond that a one-off thread serves the call), and Go starts
// new threads from a clean template thread, never from a locked one. The
// other threads keep root (TestThreadsIdentity checks /proc/thread-self
// from inside the write and every other thread after it).
//
// A Maildir delivery is: on the user's thread, create the file in tmp/
// and write it; flush; on the user's thread, link it into new/ and
// remove the tmp/ name; flush; reply. The flushes are group commit
// (pkg/maildir.Committer, whose comment has the power-loss argument):
// deliveries waiting at the same moment share one, an fsync of the one
// file or directory when it is alone, else one syncfs(2) of the file
// system. A flush waits up to 3 ms for the other deliveries in flight to
// ask (and for the next ones, while such waits find company), so that
// under load one flush serves several messages. A syncfs slower than 20
// ms (and than the fsyncs it replaces), which means it waited for other
// programs' dirty data, turns rounds into parallel fsyncs of each file
// and directory for a second, then syncfs is tried again (longer
// fallbacks while it stays slow): deliveries are never hostage to another
// writer, at the price of more flush calls meanwhile (package
// postern/pkg/flush). Side-by-side figures with Postfix, W8's flush calls
// per message among them, and why the 3 ms stays: docs/bench.md.
// Nothing is visible in new/ before its data and inode are on
// disk, and the reply comes after the new/ entry is. A flush writes
// nothing of the user's; it runs on any thread, as root.
//
// mbox files, file destinations and commands go to a long-lived delivery
// helper per identity, a pkg/runas Pool (the one imapd's session servers
// use): /proc/self/exe -deliver-server, started on the first job for
// that identity with the identity's credentials and its end of a
// SOCK_SEQPACKET socket pair as descriptor 3. For each job local sends one
// packet: a job id and the job as JSON (what to write where, decided by
// local), with the open queue file attached (SCM_RIGHTS, read-only,
// close-on-exec on arrival). The helper runs its jobs concurrently (they
// all share its one identity), closes each job's queue file when the job
// is done, and answers with the job id and the attribute list dsn, reason,
// warning. It opens, locks, creates and writes everything as the user.
// mailbox_command runs from the helper too, in its own process group,
// since the command needs a process of its own anyway and the helper
// saves the second one. For the spool directory Postfix's rule holds: a
// world-writable spool is written as the user; a group-writable one
// (Debian root:mail 2775) with the user's uid and the directory's group
// so the dot lock can be made; otherwise as root (the identity 0/0), and a
// new mailbox is then chowned to the user. A Maildir in the spool
// (mail_spool_directory ending in "/") is written on a thread with the
// same rule's identity.
//
// Why Maildir on a thread, and mbox in a process. Issue 11 weighed again
// the three reasons that kept every write in a helper. (1) Quotas: a root
// thread with another fsuid keeps CAP_SYS_RESOURCE, but capabilities are
// per thread on Linux, and the writing thread drops them all. (2) kill -9:
// a write in local dies with local. For a Maildir that leaves a tmp/ file
// at most, as a killed Postfix local does, and nothing in new/ (the link
// comes after the flush), so qmgr's retry delivers it once. An mbox append
// cut short leaves half a message and a dot lock that blocks the mailbox
// for stale_lock_time (the e2e crash test, which kills local every 1.5 s,
// hit exactly that): mbox stays in the helper, which finishes its jobs
// when local dies (TestHelperOutlivesLocal). (3) Discipline: every step
// on the user's thread must stay there, or it runs as root without a
// trace. Each step is one small function (maildirAs in job.go) calling
// pkg/maildir's Write, Publish or Abort, which make direct system calls
// on the calling thread (regular files in Go never go through the
// poller); nothing there hands work to another goroutine. The gain: the
// helper cost 25 % of all CPU samples under W1 (its runtime, GC and JSON,
// the process hop and context switches).
//
// Lifetime of a helper. local closes a helper's socket after 30 seconds without a job
// (the decision is local's, under its pool lock, so that no job is ever
// sent to a helper that is exiting); the helper sees end of file and
// exits, and is killed if it has not within 5 seconds. When local dies,
// the socket closes too, and Pdeathsig sends the helper SIGTERM: it takes
// no further job, finishes the writes in hand (for at most 30 seconds)
// and exits, so that an mbox append is never cut short by local's death;
// the replies are lost with local
// and qmgr delivers those messages again (at least once, SPEC §4).
// Pdeathsig follows the thread that forked, so every helper is started
// from one goroutine locked to a thread that never exits. At most 64
// identities have a helper; at the limit the least recently used idle
// helper is closed, and when all 64 are busy the job runs in a one-off
// helper started for it and closed after it; it too finishes its write
// when local dies.
//
// Failures. A job the helper never received (the send failed, the helper
// was already gone) is sent once more to a new helper. A job it received
// gets exactly one answer: its reply, or 4.3.0 "delivery as user NAME
// failed" when the helper dies first (crash, kill -9, a reply that breaks
// the protocol, or no reply within the job's own time limits plus a
// minute, after which local kills it, with its other jobs). qmgr retries
// the deferred jobs; the next job for that identity starts a new helper.
// A helper itself killed (kill -9) in the middle of a write leaves what a
// killed Postfix local leaves: a stale dot lock (broken after
// stale_lock_time), a partly appended mbox message, or a Maildir tmp/
// file; a message it had finished just before it died is delivered again
// on the retry (at least once).
//
// A helper is a boundary, not a trusted peer. It gets nothing but its jobs
// and their queue files: the descriptors local passes are close-on-exec,
// no other descriptor of local's reaches it, and it marks itself
// non-dumpable so that the user it runs as cannot ptrace it. What it
// sends back is bounded (one packet of 64 KiB, an attribute list with a
// valid status code, ids it was given; descriptors are discarded by the
// kernel), and anything else ends it. A helper taken over through a
// hostile mailbox or command runs as that user and holds the queue files
// of that user's jobs only; it can misreport that user's deliveries, or
// kill itself, and nothing more: other identities have their own helpers.
// Job packets are bounded to 128 KiB (the largest job a request can make,
// a command with every address and environment value at its bound, is
// about 90 KiB: TestJobSizeBound); a larger one is deferred with a
// warning.
//
// Reading a .forward as the user uses the same per-thread identity for
// one open(2) (pkg/runas.Open): the descriptor is then read as root.
//
// An unprivileged local (tests, make run) can only write as itself: it
// delivers in-process (Maildir with the same group commit) when the
// recipient has its own uid, and defers other
// recipients with 4.3.0 "cannot deliver as user NAME: insufficient
// privileges". That only happens in such test and demo setups.
//
// Measured cost per delivery (200 Maildir deliveries of a small message,
// as root, `go test -run X -bench Deliver -benchtime 200x -count 5
// ./local/`, on the shared 2-core VM we develop on, load average 0.5-7;
// CPU as reported by getrusage, local's own and its children's, a helper's
// start-up included):
//
//	mode                            wall per delivery   CPU in child   CPU in local
//	process per delivery            16-37 ms            17-30 ms       2.2-3.4 ms
//	helper, one job at a time       1.5-4.8 ms          1.0-1.8 ms     0.35-0.6 ms
//	helper, 4 jobs at once          0.85-2.1 ms         0.95-1.6 ms    0.3-0.45 ms
//	in-process (benchmark only)     0.84-4.0 ms         -              0.55-1.4 ms
//
// Again with pkg/runas's pool (issue 10), load average 17, -count 2: a
// one-off helper per delivery (BenchmarkDeliverOneOff) 80-92 ms wall, 37-39
// ms CPU in the child, 2.4 ms in local; helper, one job at a time 3.2-4.3
// ms, 0.93-1.2 ms, 0.48-0.55 ms; 4 at once 1.9-2.5 ms, 1.0-1.1 ms,
// 0.41-0.44 ms; in-process 5.9-6.3 ms wall, 0.87-0.91 ms CPU.
//
// The wall times swing with the disk: each delivery fsyncs the file and
// the new/ directory. Starting a helper costs 18-40 ms once; a running
// helper uses about 8 MB of RSS (3 MB of it private; its heap is kept
// small with GOGC=25). The helper costs 0.5-1 ms of CPU per delivery
// over writing in-process (the packet, JSON, a goroutine and two context
// switches), against 17-30 ms for a process per delivery, whose price on
// this VM is the start of a Go process: fork+exec of /bin/true costs 2.2
// ms here, of the local binary exiting at once 14-19 ms.
//
// Issue 11 moved Maildir deliveries from the helper to a thread of local's
// as the user, with group commit. The same benchmark, alice as nobody,
// load average 11, -count 2: a thread (BenchmarkDeliverThread) 3.2-6.5 ms
// wall one at a time, 1.1-1.2 ms of CPU, all in local (the Maildir create
// included, which ext4 makes costly); the helper 7-14 ms, 1.0-1.1 ms in
// the child plus 0.42-0.47 ms in local. On the whole mail path, side by
// side with Postfix (compare.sh): docs/bench.md.
//
// Everything in a request and a message is untrusted: attribute lists are
// bounded by pkg/ipc, addresses to 2048 bytes, the header scan to 1 MiB and
// 1000 Delivered-To values, helper and command output to fixed buffers;
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
// files, helper failures, maildir access problems). A helper
// that ends other than by local's choice is logged once with its exit
// status and the start of its standard error:
//
//	warning: delivery helper for uid U gid G (pid P) exited: signal: killed
//
// and each delivery it had in hand with
//
//	warning: delivery helper for uid U gid G exited with the delivery in progress
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
//	soft_bounce (no; yes: a permanent failure is returned as 4.X.Y and logged
//	  status=SOFTBOUNCE, so the mail stays queued)
//	alias_maps (hash:/etc/aliases, nis:mail.aliases)
//	forward_path ($home/.forward${recipient_delimiter}${extension}, $home/.forward)
//	forward_expansion_filter (letters, digits, " !@%-_=+:,./")
//	luser_relay (empty; local $names only)
//	propagate_unmatched_extensions (canonical, virtual; local reads alias, forward)
//	double_bounce_sender (double-bounce)
//	allow_mail_to_commands (alias, forward), allow_mail_to_files (alias, forward)
//	owner_request_special (yes), expand_owner_alias (no)
//	frozen_delivered_to (yes)
//	mydestination, myorigin, myhostname, mail_name, line_length_limit
//	ipc_timeout (3600s)
//
// # See also
//
// qmgr(8), master(8), pkg/mbox, pkg/maildir, postfix-behaviour.md §6.
package main
