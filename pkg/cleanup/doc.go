// Package cleanup is the client side of the cleanup service, as Postfix's post_mail: every
// program that puts a new message into the queue (smtpd, pickup, bounce, local forwarding)
// opens a Stream to public/cleanup, sends attributes, the sender, the recipients and the
// content, and closes it to learn the queue ID or cleanup's refusal. Records go out by their
// pkg/queue names only.
//
// It also owns what both ends of the protocol must agree on (docs/DESIGN.md, "cleanup
// service"): the per-recipient attribute names and cleanup's status classes with Postfix's
// cleanup_strerror codes and texts. The cleanup program answers with Reply; clients get the
// same text back as an *Error.
//
// Crash safety is the server's: cleanup answers status 0 only after the queue file is
// fsync'd and complete, so a client that reports success (smtpd's 250) does so only then.
package cleanup
