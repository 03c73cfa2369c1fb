// Qmgr is the queue manager: it moves queued mail from incoming/ and deferred/ into
// active/, hands each recipient to its delivery agent, and records the outcome.
//
// # Description
//
// qmgr is a resident service started by master(8) with the public/qmgr listener. A client
// writes one-byte requests to that socket: W or I (scan incoming/), D (scan deferred/), A
// (ignore the retry times of deferred messages on the next deferred scan), F (forget
// transports that could not be reached, and lift defer_transports for the messages the next
// scan of each queue admits). Identical requests collapse. postqueue -f, sendmail -q and
// postfix flush send FADI. As a safety net qmgr
// also scans incoming/ every few seconds and deferred/ every queue_run_delay.
//
// At startup every file left in active/ by a previous qmgr is moved back to incoming/; its
// delivered recipients are D records already, so only the others are tried again.
//
// A scan takes ready files (owner bits rwx) from incoming/ and deferred files whose mtime has
// passed, alternating between the two queues, while fewer than qmgr_message_active_limit
// messages are active. On entering active/ a message's old defer log is removed and qmgr
// logs "ID: from=<sender>, size=N, nrcpt=N (queue active)". A file that cannot be parsed is
// moved to corrupt/.
//
// Each recipient is resolved by package postern/pkg/resolve (trivial-rewrite's resolve):
// the local class (mydestination, address literals of inet_interfaces/proxy_interfaces;
// user%dom@here is user@dom) goes to local_transport, virtual_mailbox_domains to
// virtual_transport, relay_domains to relay_transport, everything else to
// default_transport with relayhost as next hop; transport_maps may override that, and a
// recipient still in virtual_alias_domains bounces (5.1.1 User unknown in virtual alias
// table). Mail to double_bounce_sender@myorigin is discarded. Each transport is a master.cf service reached
// at private/NAME, one request per recipient (docs/DESIGN.md "delivery request"), over
// connections that are reused. At most maxproc (master.cf) deliveries per transport run at
// once, and at most <transport>_destination_concurrency_limit per destination; a destination
// is the recipient when <transport>_destination_recipient_limit is 1, else the next hop.
//
// A recipient whose transport is listed in defer_transports is not handed to it: qmgr
// defers it as Postfix's retry service does, logging "relay=none, ..., dsn=4.3.2,
// status=deferred (deferred transport)", and mailq shows "(deferred transport)". Queue runs
// defer it again; only a message admitted after trigger F, or one file marked by postqueue -i
// (the group read bit, cleared when qmgr takes it), goes through.
//
// Outcomes: success turns the recipient's R record into D; a temporary failure appends an
// entry to defer/ID; a permanent failure appends to bounce/ID and turns R into D. Every log
// entry is fsync'd before the next step. When all recipients are answered the file is
// removed ("ID: removed"), or moved to deferred/ with its mtime set to now plus its age
// clamped to [minimal_backoff_time, maximal_backoff_time]. A message still deferred at the
// end of a round and older than maximal_queue_lifetime (bounce_queue_lifetime for the null
// sender) is expired: "ID: from=<sender>, status=expired, returned to sender", its deferred
// recipients become bounce log entries, and it is removed. A message whose file has the
// force-expire mark (group execute bit, set by postsuper -e/-f) when it enters active/ is not
// delivered: each recipient still to do is deferred with the reason of the defer log of its
// last round, or, without one, "message is administratively expired" (dsn 4.7.0, logged with
// relay=none), and the message is expired at once: "ID: from=<sender>, status=force-expired,
// returned to sender".
//
// At the end of every round in which a bounce log exists (this round's permanent failures,
// expired recipients, or a log left by an earlier round), qmgr asks the bounce service on
// private/bounce (request=flush, queue_name, queue_id, sender, dsn_envid, dsn_ret) to send
// the non-delivery notice; the service removes the log. If the service cannot be reached or
// fails, the message stays queued (deferred/) with its log, and the notice goes out on a
// later round; only then is the file removed. A message deferred after the time in its W
// record (written by cleanup when delay_warning_time > 0 and the sender is not <>) gets one
// delay warning (request=warn, from the defer log), after which W is overwritten with -1.
//
// Delivery reports: for a message whose trace_flags attribute has bit 1024 (sendmail -v)
// every outcome of the round (action=delivered, relayed when a remote MTA took it, failed,
// delayed, with the agent's reason and remote diagnostic) is appended to trace/ID; for a
// recipient whose notify_flags has SUCCESS (2) and not NEVER (1), its successful delivery
// is. At the end of the round, before the file leaves active/, qmgr asks the bounce service
// for the report (request=trace for sendmail -v, request=success otherwise); the service
// sends it to the sender and removes the log. After a traced message's report the digits
// of its trace_flags are overwritten with zeros in place, so only the first attempt is
// reported. A report is a courtesy: a trace log that cannot be written or a report that
// cannot be sent is logged as a warning and never defers or keeps the message; the log
// waits for the next round if the message stays queued and is removed with it otherwise.
//
// qmgr never scans hold/: messages there wait for "postsuper -H".
//
// # Security
//
// qmgr runs as mail_owner and touches only the queue directory. It never opens the
// message content, and it treats queue files as untrusted input: a malformed file goes to
// corrupt/.
//
// # Diagnostics
//
// Problems are logged with "warning:" through the mail log. An agent that cannot be
// reached defers its recipients with dsn=4.3.0 "mail transport unavailable" (logged by qmgr
// with relay=none) and is not tried again for transport_retry_time; an agent that fails
// mid-request defers the recipient with "delivery temporarily suspended: unknown mail
// transport error". A reused connection that the agent closed without reading the request
// (its process reached max_idle or max_use) is not a failure: the request goes once more
// over a new connection, since nothing was delivered. Delivery report problems are "warning: ID: append trace log: ..." and
// "warning: ID: delivery status notification: ...".
//
// # Configuration parameters
//
//	queue_directory (/var/spool/postfix)
//	qmgr_message_active_limit (20000)
//	queue_run_delay (300s)
//	minimal_backoff_time (300s)
//	maximal_backoff_time (4000s)
//	maximal_queue_lifetime (5d)
//	bounce_queue_lifetime (5d; lowered to maximal_queue_lifetime, with a warning, when larger)
//	mydestination ($myhostname, localhost.$mydomain, localhost)
//	inet_interfaces (all), proxy_interfaces (empty)
//	local_transport (local:$myhostname), virtual_transport (virtual), relay_transport (relay)
//	default_transport (smtp), transport_maps (empty)
//	relay_domains (empty), virtual_alias_domains, virtual_mailbox_domains
//	allow_percent_hack (yes), swap_bangpath (yes), parent_domain_matches_subdomains
//	relayhost (empty)
//	double_bounce_sender (double-bounce)
//	default_process_limit (100)
//	default_destination_concurrency_limit (20), local_destination_concurrency_limit (2)
//	default_destination_recipient_limit (50), local_destination_recipient_limit (1)
//	transport_retry_time (60s)
//	command_time_limit (1000s), <transport>_time_limit
//	backwards_bounce_logfile_compatibility (yes)
//	delay_warning_time (0h; through cleanup's W record)
//	defer_transports (empty)
//	soft_bounce (no; yes: every permanent failure, an agent's or qmgr's own, is recorded as
//	  a deferral with status 4.X.Y, logged status=SOFTBOUNCE; no bounce log, no notice)
//
// # Not implemented
//
// Postfix's preemptive scheduler and its tuning are not: qmgr_message_recipient_limit,
// qmgr_message_recipient_minimum, qmgr_fudge_factor, initial_destination_concurrency, the
// destination_concurrency_*_feedback and *_destination_concurrency_failed_cohort_limit
// parameters, the *_delivery_slot_*, *_minimum_delivery_slots, *_recipient_refill_*,
// *_extra_recipient_limit and default_recipient_limit parameters, default_transport_rate_delay
// (<transport>_transport_rate_delay), qmgr_clog_warn_time, qmgr_daemon_timeout,
// qmgr_ipc_timeout, confirm_delay_cleared, default_filter_nexthop (no content_filter) and
// address_verify_pending_request_limit (no verify service). Set in main.cf they draw
// pkg/config's "not implemented" warning.
//
// # See also
//
// master(8), cleanup(8), local(8), bounce(8), postfix-behaviour.md §3, docs/DESIGN.md.
package main
