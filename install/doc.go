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
// the system's Postfix paths before and after. TestInstallMigratesTables
// installs over Berkeley DB tables made with db_load (Debian's db-util) and
// checks the migration, lookups, and the byte-for-byte restore.
package install
