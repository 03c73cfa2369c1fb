// Postfix is the Postern control program.
//
// # Synopsis
//
//	postfix [-c config_dir] [-v] command
//
// # Description
//
// postfix starts, stops and inspects the mail system, as Postfix's
// postfix(1) and postfix-script do. Messages are logged as
// postfix/postfix-script and also shown on standard error, prefixed with
// "postfix/postfix-script: " (unless the log itself goes to standard error).
//
// Commands:
//
//	start      Create missing queue directories, check master.cf, and run
//	           $daemon_directory/master, which detaches; exit 0 once it is up.
//	           "fatal: the Postfix mail system is already running" and exit
//	           1 when a master holds the lock.
//	start-fg   Like start, but master stays in the foreground (exec).
//	stop       SIGTERM to master; after five seconds "stopping the Postfix
//	           mail system with force" and SIGKILL to its process group.
//	abort      SIGTERM to master ("aborting the Postfix mail system").
//	reload     SIGHUP to master ("refreshing the Postfix mail system").
//	status     "the Postfix mail system is running: PID: N" (exit 0) or
//	           "the Postfix mail system is not running" (exit 1).
//	check      Create missing queue directories, verify that main.cf and
//	           master.cf parse, and, when run as root, warn as
//	           postfix-script's check-warn does: "not owned by root: X"
//	           ($queue_directory/., pid, and the trees of config_directory,
//	           daemon_directory and meta_directory), "group or other
//	           writable: X", "not owned by postfix: X" (data_directory and
//	           the queue directories' trees, sockets aside), "not owned by
//	           group postdrop: X" (public, maildrop, postdrop, postqueue),
//	           "not set-gid or not owner+group+world executable: X"
//	           (postdrop, postqueue), "damaged message: corrupt/ID", and
//	           "/usr/lib/sendmail and /usr/sbin/sendmail differ". Paths are
//	           spelled as find(1) prints them there ("/var/lib/postfix/.").
//	           The program files are not checked for a secondary instance
//	           (one in multi_instance_directories). Then, as root or not,
//	           one warning per thing main.cf or master.cf asks for that
//	           Postern does not do (config.Unimplemented): "DIR/main.cf:
//	           parameter NAME is not implemented by Postern and is ignored"
//	           (and "DIR/master.cf: service S: parameter ..." for -o), unless
//	           the value gives Postfix's result anyway (empty, the default);
//	           "DIR/main.cf: NAME = VALUE is not implemented by Postern: ..."
//	           for a value Postern handles otherwise (smtp_tls_security_level
//	           verify, secure, dane, fingerprint);
//	           "DIR/main.cf: LIST: restriction R is not implemented by Postern:
//	           recipients that reach it get 451 4.3.5 Server configuration
//	           error" (or "is unknown"); "DIR/main.cf: PARAM: table type T is
//	           not supported by Postern: T:NAME is skipped"; and master's
//	           warning for each master.cf service whose program it does not
//	           run. start and reload show these too (master logs them).
//	           Then the lookup tables: every hash:/btree: table named in
//	           main.cf (and alias_maps, alias_database) or a master.cf -o
//	           option whose FILE.db Postfix left in Berkeley DB format, which
//	           Postern cannot read, is a warning naming the parameter, the
//	           file and the command that rebuilds it ("postmap FILE",
//	           "postalias FILE"), or, when FILE is gone too, an error saying
//	           how to get the entries back, and check exits 1. start shows
//	           the same (without failing: only mail that needs the table
//	           waits).
//	flush      Write the trigger "FADI" (flush dead sites, scan all,
//	           deferred, incoming) to $queue_directory/public/qmgr.
//	set-permissions  Give the queue directories their owners and modes, and
//	           postdrop and postqueue root:$setgid_group 2755.
//	logrotate  Rename $maillog_file with a -%Y%m%d-%H%M%S suffix, gzip it,
//	           and reload master.
//	upgrade-configuration  Accepted; nothing to do.
//
// Whether master runs is asked with "$daemon_directory/master -t"; its PID
// is read from $queue_directory/pid/master.pid.
//
// An unknown command gives "fatal: unknown command: 'x'. Usage: postfix
// start (or stop, reload, abort, flush, check, status, set-permissions,
// upgrade-configuration, logrotate)" and exit status 1.
//
// # Configuration parameters
//
//	daemon_directory, command_directory, meta_directory, shlib_directory,
//	queue_directory, data_directory, mail_owner, setgid_group,
//	multi_instance_directories, maillog_file, syslog_name
//
// # See also
//
// master(8), postconf(1).
package main
