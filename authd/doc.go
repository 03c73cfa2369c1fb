// Authd is Postern's authentication service: the one process that reads
// credentials.
//
// # Description
//
// master(8) runs authd from a master.cf entry such as
//
//	auth      unix  -       n       n       -       -       authd
//
// (private socket $queue_directory/private/auth, unpriv = n so that it runs
// as root and can read /etc/shadow). pop3d(8), imapd(8) and smtpd(8) ask it,
// through pkg/auth, one pkg/ipc attribute list per request:
//
//	request=auth service=pop3|imap|smtp username=NAME password=PW client_address=ADDR
//	request=lookup service=... username=NAME
//
// The reply is status=ok with username (canonical), uid, gid, home and
// maildir (home + home_mailbox when that ends in "/", else home/Maildir/);
// status=fail with nothing else; or status=temp with a reason when a
// backend cannot be read.
//
// Backends, tried in order; the first that knows the user decides:
//
//   - passwd-file (postern_passwd_file): virtual users in Dovecot's
//     passwd-file shape, "user:{SCHEME}hash:uid:gid:gecos:home:shell:extra",
//     schemes {SHA512-CRYPT} {SHA256-CRYPT} {MD5-CRYPT} {BLF-CRYPT}
//     {ARGON2ID} {ARGON2I} {SCRYPT} {CRYPT} {PLAIN}; an extra field
//     "userdb_mail=maildir:~/Maildir" (or mail=) sets the mailbox. The file
//     is read at each request.
//   - system accounts: /etc/passwd and /etc/shadow, with every hash
//     Debian's passwd and chpasswd write — yescrypt ($y$), sha512-crypt
//     ($6$), sha256-crypt ($5$), md5-crypt ($1$), bcrypt ($2b$) — verified
//     in pure Go (no PAM, no cgo).
//
// # Security
//
// A failed login is answered only after a delay that starts at
// authd_failure_delay and doubles with each recent failure from the same
// client address or for the same username, up to authd_failure_delay_limit.
// Unknown users, locked accounts ("!" or "*" hashes), expired accounts or
// passwords (shadow ageing fields), uid 0 and wrong passwords get the same
// reply after the same work (a dummy yescrypt computation stands in for a
// missing hash), so the answer never tells whether a user exists. Requests
// are bounded (16 KiB, lines of 4 KiB). When authd runs as root only peers
// running as root or mail_owner (SO_PEERCRED) are answered; otherwise only
// root and authd's own uid. Hash computations run at most
// authd_max_parallel at a time, since yescrypt needs megabytes per check.
//
// The Courier authdaemon socket protocol (PRE/AUTH/ENUMERATE) is not
// offered.
//
// # Diagnostics
//
// Every failure is logged as "warning: SERVICE authentication failed:
// user=<NAME>, rip=ADDR, reason=WHY, delay=SECONDS" (the reason is for the
// administrator only; clients never see it). Backend errors are logged as
// warnings and answered with status=temp.
//
// # Configuration parameters
//
//	postern_passwd_file (empty)          passwd-file of virtual users
//	authd_system_users (yes)             use /etc/passwd + /etc/shadow
//	authd_failure_delay (2s)             first failure delay
//	authd_failure_delay_limit (15s)      longest failure delay
//	authd_max_parallel (number of CPUs)  concurrent hash computations
//	home_mailbox (empty)                 mailbox below home; a value ending in "/" names the Maildir
//	mail_owner (postfix)                 besides root, the uid allowed to ask
//	authd_service_name (auth)            for clients: the socket is private/$authd_service_name
//
// # See also
//
// pop3d(8), imapd(8), master(8), shadow(5), crypt(5).
package main
