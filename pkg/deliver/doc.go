// Package deliver is the delivery request contract between qmgr and its delivery agents
// (local, smtp): the request qmgr sends, the reply an agent returns, the time stamps both
// carry and the per-recipient log line the agents write. qmgr builds requests with
// [Request.Attrs] and reads replies with [ParseReplies]; an agent reads requests with
// [Parse] (which validates them) and answers with [Reply.Attrs].
//
// # Transport
//
// qmgr connects to `private/TRANSPORT` (a unix stream socket served under master) and sends
// one request at a time as a pkg/ipc attribute list; the agent answers each before the next is
// read, and connections are reused for further requests. qmgr sends one recipient per request.
//
// # Request
//
// Attributes, in the order qmgr writes them:
//
//   - queue_name: always `active`; an agent refuses anything else.
//   - queue_id: a bare queue file name ([queue.ValidID]); the request never names a path.
//   - content_offset: byte offset of the first record after `M` (the message content), > 0.
//   - arrival_time, active_time: unix seconds with a micro fraction, `sec.usec` ([FormatTime]);
//     an unreadable value is the zero time, which the log line treats as "now".
//   - sender.
//   - recipient, orig_recipient, rcpt_offset, notify_flags, dsn_orig_rcpt: one block per
//     recipient. The smtp agent takes repeated recipient/orig_recipient attributes as several
//     recipients of one transaction, paired by position.
//   - client_name, client_address, client_protocol, client_helo, sasl_method, sasl_username,
//     sasl_sender: the submission's client, for local's environment and resubmission.
//   - nexthop: relayhost or the recipient's domain, for the smtp agent.
//
// # Reply
//
// `status=0` (sent) / `4` (defer) / `5` (bounce), `dsn=X.Y.Z`, `reason=TEXT`. The smtp agent
// adds `diag_type=smtp`, `diag_text=` (the remote reply) and `mta_type=dns`, `mta_mname=` (the
// remote host) when known, and repeats one status block per recipient when a request carries
// several. A reply without a status is malformed; qmgr counts any status but 0 and 5 as a
// temporary failure.
//
// # Logging
//
// The agent logs the delivery line itself ([LogLine]), in the field order pflogsumm's regular
// expression requires:
//
//	ID: to=<R>, [orig_to=<O>, ]relay=R, [conn_use=N, ]delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=S (TEXT)
//
// qmgr records the outcome (D record, defer and bounce logs), logs `removed` when nothing is
// left, and logs the line itself, with relay=none, when no agent answered.
package deliver
