// Package maildir owns the Maildir format, for every program that reads or
// writes one: file names (the unique base, the ":2," flag letters and
// their IMAP meaning, Dovecot's ",S=" and ",W=" sizes), unique names,
// delivery into new/ the way Postfix local(8) does (src/local/maildir.c),
// storing a message into cur/ (IMAP APPEND, COPY, MOVE), scanning (tmp/
// purge, new/ to cur/, listing cur/), the POP3 and IMAP reading side
// (the network forms of a message file: CopyCRLF and NetForm for POP3, ToCRLF and
// CRLFSize for IMAP; Courier's courierpop3dsizelist) and the replacement
// of the small state files kept beside the messages.
// Maildir++ folders and the IMAP state files are pkg/maildirpp's.
//
// Users: local (Write, Committer, Publish; Deliver), pop3d (scanning, POP3 list, CopyCRLF, NetForm), imapd
// (names, flags, scanning, Store/Place, ToCRLF), pkg/maildirpp (names,
// WriteFile).
//
// The caller runs everything here with the mailbox owner's credentials;
// this package does no privilege switching.
//
// Deviation from Postfix: Deliver's tmp/ name is the unique name of
// unique.go (SEC.M<usec>P<pid>Q<n>.HOST), because one Postern process
// delivers concurrently and two deliveries may share a second. The final
// new/ name is exactly Postfix's <sec>.V<dev>I<ino>M<usec>.<host>, which
// Courier and Dovecot read as any other unique base. Postern also makes
// the new/ entry durable before reporting the delivery: Deliver fsyncs
// new/ after the link; local shares those flushes between concurrent
// deliveries (Committer, commit.go, with the power-loss argument).
package maildir
