// Package install holds the tests of make install and make uninstall
// (scripts/install.sh, scripts/uninstall.sh); it has no code of its own.
//
// # What make install does
//
// As root, with no DESTDIR, on a Debian machine:
//
//	/usr/sbin/{sendmail,postfix,postmap,postalias,postconf,postsuper,postmulti,postcat}  root 0755
//	/usr/sbin/{postdrop,postqueue}                  root:postdrop 2755
//	/usr/bin/newaliases, /usr/bin/mailq, /usr/lib/sendmail   links to sendmail
//	/usr/lib/postfix/sbin/{master,smtpd,...}        the daemons, root 0755
//	/var/spool/postfix                              root 0755, and in it
//	    maildrop postfix:postdrop 1730, public postfix:postdrop 2710,
//	    incoming active deferred hold corrupt bounce defer trace flush
//	    private saved postfix 0700, pid root 0755
//	/var/lib/postfix                                postfix 0700
//	/etc/postfix/main.cf, master.cf                 only when absent; an
//	    existing master.cf gets the auth, pop3 and imap services when it
//	    lacks them
//	/usr/share/postern/{main,master}.cf.dist        the shipped copies
//	/etc/systemd/system/postern.service, /etc/init.d/postfix
//	FILE.db of every hash: and btree: table         rebuilt in Postern's format
//	    named in main.cf or a master.cf -o option    (below)
//
// and creates the postfix user and the postdrop group when missing. A file
// that was already there and is not Postern's is moved to
// /var/lib/postern/saved first. Everything done is listed in
// /var/lib/postern/manifest.
//
// Lookup tables: Postfix's FILE.db files are Berkeley DB, which Postern
// does not read. Every hash:/btree: table named in main.cf (alias_maps and
// alias_database even when left at their defaults) or in a master.cf -o
// option, found in the values Postern's postconf -n -x / -P -x prints, is
// migrated: a Berkeley DB FILE.db whose source FILE exists is saved and
// rebuilt with Postern's postmap (postalias for the alias tables), one
// "make install: migrated FILE.db: ..." line each; a missing FILE.db is
// built ("built FILE.db ..."); a Berkeley DB file without its source is left
// alone with a warning (postfix check reports it and how to fix it).
//
// With DESTDIR=/scratch/root the same tree is made under that directory by
// any user: no user or group is created, and owners are set only when
// running as root and only to users and groups this machine has. Modes,
// set-gid bits included, are always set.
//
// # What make uninstall does
//
// It reads the manifest backwards: installed files and links are removed,
// saved files put back (Postfix's Berkeley DB tables byte for byte, one
// "restored the previous FILE.db" line each; one whose source was changed
// since install is rebuilt with Postfix's postmap/postalias, or named when
// those are not there), tables install built where there were none removed
// and rebuilt with Postfix's postmap/postalias once those are back, lines added to master.cf taken out, and the
// configuration files install wrote removed unless they were changed since
// (make uninstall PURGE=1 removes those too). Directories install made are
// removed when empty, after the sockets and pid file master leaves in the
// queue; a queue that still holds mail is kept. The postfix user and the
// postdrop group stay. It refuses while the mail system runs.
//
// # Tests
//
// TestInstallDestdir installs into a temporary root whose parent directories
// do not exist yet (make install creates DESTDIR) and checks the tree,
// owners and modes, a second install, the master.cf merge, and that
// uninstall leaves the root as it was. TestInstallRoot runs only as root
// with CI=true: a real install, postfix start, the howto's first telnet
// session on port 25, postfix stop, make uninstall, and a comparison of
// the system's Postfix paths before and after (it skips where a mail system
// is installed, as in CI, where TestDebian needs Debian's postfix package).
// TestInstallMigratesTables
// installs over Berkeley DB tables made with db_load (Debian's db-util) and
// checks the migration, lookups, and the byte-for-byte restore.
//
// TestDebian (debian_test.go; as root on Debian with CI=true or
// POSTERN_DEBIAN_TEST=1, skipped otherwise) is issue 9's test of Postern
// as a drop-in for Debian's Postfix. Each step is a subtest:
//
//	package        the postfix package installed (debconf: Internet Site,
//	               mail.fossedu.org; a policy-rc.d answering 101) and
//	               stopped; an earlier run's leftovers undone
//	install        the howto's virtual domains set with Postfix's postconf
//	               and postmap (a Berkeley DB virtual.db), make install,
//	               main.cf unchanged and master.cf only appended to,
//	               postfix start
//	services       every service of Debian's master.cf runs (postlog too)
//	virtual        the Berkeley DB virtual.db served; postmap used at once
//	telnet         the howto's session on port 25, stored byte for byte as
//	               Postfix stores it; mail(1) as fmaster reads it
//	aliases        /etc/aliases + newaliases, used by the next session, 50
//	               times
//	forward        ~/.forward to another local user
//	sendmail-t     sendmail -t as an ordinary user
//	maildir        home_mailbox = Maildir/ + postfix reload
//	pop3, imap     the howto's sessions on 110 and 143; Python's poplib and
//	               imaplib and curl over STARTTLS with the snakeoil
//	               certificate; IMAP's view of the howto's message
//	smtp-starttls  swaks -tls on port 25
//	submission     Debian's commented submission service enabled; swaks
//	               with STARTTLS and AUTH on 587
//	defer-mailq    defer_transports = local: mailq as a user lists the
//	               message until postqueue -f delivers it
//	warnings       postfix check names an unimplemented parameter
//	uninstall      make uninstall gives Postfix's files back (owners, modes,
//	               contents; Berkeley DB tables; dpkg --verify clean)
//	postfix        Debian's postfix start delivers into /var/mail
//
// Only one of Postfix and Postern runs at a time. Whatever happens, the
// cleanup stops the mail system, uninstalls Postern, puts back the files
// the test edited (kept in /var/lib/postern-debian-test while it runs) and
// removes its users; the postfix package stays installed.
package install
