// Master is the Postern process manager.
//
// # Synopsis
//
//	master [-c config_dir] [-d] [-e exit_time] [-t] [-w]
//
// # Description
//
// master reads main.cf and master.cf, opens the listening endpoint of every
// service it can run, and starts a child process for a service when a
// client connects to it. Resident services (qmgr, pickup, and services with
// a wakeup time) are started at once and restarted whenever they end.
//
// A child is started as
//
//	$daemon_directory/COMMAND -c CONFIG_DIR -n SERVICE_NAME -t TYPE [-u] [ARGS...]
//
// with the service's listening sockets as file descriptors 3 and up, their
// count in POSTERN_LISTEN_FDS, the service's process limit in
// POSTERN_MAXPROC and the configuration directory in MAIL_CONFIG. One child
// serves a whole service with goroutines, at most maxproc connections at a
// time; it exits after max_idle seconds without a connection, and master
// starts it again when a listener becomes readable (see package
// postern/pkg/service). Standard error is inherited. Every child starts
// with master's credentials; when master runs as root, a child of a service
// with unpriv = y (the default) gets -u and drops privileges to mail_owner
// itself (no supplementary groups), after it has read as root what mail_owner
// may not read (TLS keys), as Postfix's daemons do.
//
// inet services listen on [host:]port; without a host on every address of
// inet_interfaces (all, loopback-only, or a list). unix services listen on
// $queue_directory/private/NAME, or public/NAME for private = n, mode 0666.
// unix-dgram services (Debian's postlog) bind a datagram socket at the same
// place, mode 0666; their child is started when a datagram waits and reads
// the datagrams from it (service.MainDgram). fifo and pass services are
// skipped with a warning, and so is a service whose program does not exist
// in daemon_directory, or is a Postfix daemon that Postern does not
// implement (Postfix's own file, left in daemon_directory, cannot work under
// this master). Services of the Postfix daemons whose work Postern's
// programs do themselves (trivial-rewrite, tlsmgr, anvil, scache, proxymap,
// and the error service) are skipped silently: see config.Service.Program.
// chroot = y is accepted and ignored.
//
// At start and at each reload master logs one warning per parameter set in
// main.cf or with -o in master.cf that Postern does not implement, per smtpd
// restriction it does not implement and per table type it does not support
// (config.UnimplementedSettings; postfix check shows the same).
//
// A child that exits with a non-zero status or is killed by a signal is
// logged and replaced. When it exited non-zero less than one second after
// it was started (a startup failure), master logs "bad command startup --
// throttling" and waits 1, 2, 4 ... up to $service_throttle_time seconds
// before the next attempt. A child killed by a signal is replaced at once.
//
// For a service with a wakeup time of N seconds (N? is treated as N),
// master connects to the service every N seconds and writes the byte W.
//
// Without -d master detaches: it starts itself again in a new session, and
// the first process exits 0 only once the new master holds its lock files
// and its sockets (exit status 1 otherwise).
//
// # Options
//
//	-c config_dir   read main.cf and master.cf from config_dir (default
//	                $MAIL_CONFIG or /etc/postfix).
//	-d              do not detach; stay in the foreground.
//	-e exit_time    terminate after exit_time seconds.
//	-t              test mode: exit 0 when no master is running, 1 otherwise.
//	-w              wait until master is up before exiting (always done).
//	-i, -s, -v, -D  accepted for compatibility; no effect.
//
// # Signals
//
// SIGHUP re-reads main.cf and master.cf. Children of removed services get
// SIGTERM and their sockets are closed; for every other service the running
// children get SIGTERM (they finish what they have in hand) and new children
// with the new settings take over. Sockets whose address is unchanged stay
// open throughout. SIGTERM or SIGINT pass SIGTERM to every child, wait up to
// five seconds, kill what is left, remove the pid file and exit 0.
//
// # Files
//
//	$queue_directory/pid/master.pid   process ID, locked while master runs; root 0600
//	$data_directory/master.lock        the same; mail_owner (and its group) 0600
//
// Both hold the process ID right-aligned in 32 columns and a newline. They
// have the owners and modes Postfix's master gives them, so that Postfix can
// start after Postern is uninstalled (an older root-owned master.lock is
// given back to mail_owner); master.lock is never opened through a symbolic
// link, as data_directory belongs to mail_owner. The queue directories and
// data_directory are created when missing, with postfix-files' owners and
// modes (pkg/queue Init), and unix sockets are mail_owner's, mode 0666.
//
// # Diagnostics
//
// Problems are logged through maillog (program name master):
// "daemon started -- version 3.7.11, configuration DIR",
// "reload -- version 3.7.11, configuration DIR", "terminating on signal 15",
// "warning: process PATH pid N exit status S",
// "warning: process PATH pid N killed by signal S",
// "warning: PATH: bad command startup -- throttling",
// "warning: DIR/master.cf line N: service NAME: program PATH not found -- skipped",
// "warning: DIR/master.cf line N: service NAME: program PATH is Postfix's: Postern
// does not implement PROGRAM -- skipped",
// "warning: DIR/main.cf: parameter NAME is not implemented by Postern and is ignored",
// "warning: DIR/master.cf: service NAME: parameter NAME is not implemented by Postern
// and is ignored",
// "fatal: the Postfix mail system is already running".
//
// # Configuration parameters
//
//	daemon_directory (/usr/lib/postfix/sbin)   where the programs are
//	queue_directory (/var/spool/postfix)       queue and socket directories
//	data_directory (/var/lib/postfix)          master.lock
//	mail_owner (postfix)                       user of unprivileged children
//	setgid_group (postdrop)                    group of maildrop/ and public/
//	inet_interfaces (all)                      addresses of inet services
//	inet_protocols (all)                       ipv4, ipv6 or all
//	default_process_limit (100)                maxproc for "-"
//	service_throttle_time (60s)                longest startup backoff
//	syslog_name, maillog_file, myhostname      logging
//	maillog_file_prefixes (/var, /dev/stdout)  where maillog_file may be: master
//	                                           refuses to start (or to reload)
//	                                           with any other maillog_file
//
// # See also
//
// postfix(1), master.cf(5), postern/pkg/service.
package main
