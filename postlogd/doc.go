// Postlogd appends the log lines of commands that may not write maillog_file themselves.
//
// # Synopsis
//
//	postlogd [generic daemon options]   (started by master: "postlog unix-dgram n - n - 1 postlogd")
//
// # Description
//
// With maillog_file set (Postfix 3.4+ logging to a file), a command run by an ordinary user
// (postdrop and postqueue, set-gid postdrop; sendmail run by a member of group postdrop) cannot
// open the file. Package postern/pkg/maillog then sends each line, formatted
// `Mmm dd HH:MM:SS host syslog_name/program[pid]: text` with the text cut to 2000 bytes, as one
// datagram to $queue_directory/public/postlog ($postlog_service_name), a unix-dgram socket
// master opens mode 0666 in public/. master starts postlogd, as root, when a datagram waits;
// postlogd appends each record to maillog_file as one line (one write with O_APPEND, so lines
// of several writers never interleave) and exits after max_idle without one. Records that
// arrive while postlogd is not running wait in the socket.
//
// A record is read up to 4096 bytes (longer datagrams are cut there), and its CR, LF and NUL
// bytes become spaces, so that one datagram is always exactly one line. Daemons started by
// master do not use postlogd: they write the file through the descriptor master gives them.
//
// # Security
//
// Only root and group postdrop can reach public/. The records are written as sent: like
// Postfix's, postlogd does not check the program name or process ID a sender claims.
//
// # Diagnostics
//
// "warning: write maillog_file: ..." (on standard error when that is where the file is).
//
// # Configuration parameters
//
//	maillog_file (empty)          the file (master hands it to postlogd already open)
//	postlog_service_name (postlog)
//	max_idle (100s)
//
// # See also
//
// master(8), postern/pkg/maillog, postfix-behaviour.md §10.1.
package main
