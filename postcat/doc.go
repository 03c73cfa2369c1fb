// Postcat shows the contents of queue files, as Postfix's postcat(1) does.
//
// # Synopsis
//
//	postcat [-bdehoqv] [-c config_dir] [-s offset] [files...]
//
// # Description
//
// postcat reads queue files (Postern's, which are Postfix's record format: see package
// postern/pkg/queue) and prints them. Envelope records are printed as "name: value" with
// Postfix's record names (message_size, message_arrival_time, sender_fullname, sender,
// original_recipient, recipient, done_recipient, named_attribute, ...); times as asctime(3)
// in local time; "named_attribute: name=value", except create_time, printed as a time. The
// message content is printed as text, long lines (L records) joined. The sections are
// marked "*** ENVELOPE RECORDS file ***", "*** MESSAGE CONTENTS file ***", "*** HEADER
// EXTRACTED file ***" (the records cleanup added after the content) and "*** MESSAGE FILE END
// file ***". The header ends at the first content line that is neither a header ("Name:")
// nor a continuation line.
//
// Without file names postcat reads standard input ("stdin" in the markers).
//
//	-b             Print the message body (from the empty line that ends the header).
//	-c config_dir  Read main.cf there (for queue_directory) instead of $MAIL_CONFIG or
//	               /etc/postfix.
//	-d             Print each record's type as a decimal number.
//	-e             Print the envelope records (and the section markers).
//	-h             Print the message header.
//	               Without -b, -e and -h, all three.
//	-o             Print each record's offset in the file.
//	-q             The arguments are queue IDs: each is looked for in maildrop, incoming,
//	               active, deferred, hold and saved under queue_directory, and shown by its
//	               name there ("hold/ID", "deferred/A/ID").
//	-r             Keep reading after the end record.
//	-s offset      Start reading at this byte offset.
//	-v             Also show padding and pointer records, and name the text records.
//
// # Diagnostics
//
// Errors go to standard error in Postfix's words and exit 1: "postcat: fatal: open queue file
// ID: No such file or directory", "postcat: fatal: bad mail queue ID: ID", "postcat: fatal:
// record read error". A file that does not start with an envelope record gets "postcat:
// warning: NAME: input is not a valid queue file". Queue files are readable by root and
// mail_owner only, so, as with Postfix, other users get "Permission denied".
//
// # See also
//
// postsuper(1), postqueue(1), pkg/queue.
package main
