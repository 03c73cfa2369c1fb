// Postern-bench is Postern's SMTP load generator.
//
// # Synopsis
//
//	postern-bench [-workload smtp,sendmail,pop3,imap|all] [-addr host:port] [-m messages] [-s size] [-c 1,10,50] [-to rcpt]
//	              [-sendmail 500]
//	postern-bench -setup DIR [-smtp 2525] [-submission 2587] [-pop3 2110] [-imap 2143]
//
// # Description
//
// Without -addr, postern-bench boots its own instance from the programs
// beside its executable (bin/), in a temporary directory, with Maildir
// delivery: as root to a bench user it creates, otherwise to an mbox of
// the invoking user in the instance's own mail spool. It then sends -m
// messages of -s bytes over each number of connections in -c in turn with
// go-smtp's client, waits until all are delivered, and prints accepted/s,
// delivered/s, the SMTP transaction latency (MAIL FROM to the reply after
// the final dot) at p50 and p99, and the summed resident memory of master
// and its children, idle and at its peak under load.
//
// The sendmail workload (on bench's own instance only, after the SMTP runs) makes -sendmail
// submissions of a -s byte message one after the other, each a new sendmail process (and
// its postdrop) as a script would run it, and prints submissions/s, the time per
// submission (process start to exit 0) at p50 and p99, and delivered/s from the first
// submission to the last delivery. -c "" skips the SMTP runs, -sendmail 0 this one.
//
// With -addr it sends to a running server; delivery is then counted in
// -maildir DIR/new when given, else it waits until -queue DIR holds no
// message, else only acceptance is measured.
//
// -workload pop3 and imap boot an instance of their own with a passwd-file
// account (as make run has) and measure one POP3 session retrieving
// -pop3-m messages, and IMAP SELECT, UID FETCH 1:* (UID FLAGS RFC822.SIZE)
// and UID SEARCH HEADER Subject x on a Maildir of -imap-m messages: the
// first session after delivery, warm sessions, and -imap-c concurrent
// sessions (mailbench.go, pop3.go, imap.go).
//
// -setup writes the self-contained configuration that make run uses
// (postern/pkg/testenv.Layout) under DIR and exits.
//
// # See also
//
// docs/bench.md, make bench, make run.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "", "send to this running SMTP server instead of booting one")
	flag.IntVar(&o.messages, "m", 2000, "messages per run")
	flag.IntVar(&o.size, "s", 4096, "message size in bytes")
	flag.StringVar(&o.conns, "c", "1,10,50", "concurrent connections, one run per value")
	flag.StringVar(&o.to, "to", "", "recipient (default: the bench user at postern.test)")
	flag.StringVar(&o.maildir, "maildir", "", "with -addr: Maildir whose new/ counts deliveries")
	flag.StringVar(&o.queue, "queue", "", "with -addr: queue_directory to wait on until empty")
	flag.DurationVar(&o.timeout, "timeout", 5*60e9, "longest wait for delivery per run")
	flag.IntVar(&o.sendmails, "sendmail", 500, "sendmail workload: sequential submissions")
	flag.StringVar(&o.setup, "setup", "", "write make run's configuration under DIR and exit")
	flag.IntVar(&o.smtpPort, "smtp", 2525, "with -setup: SMTP port")
	flag.IntVar(&o.submissionPort, "submission", 2587, "with -setup: submission port")
	flag.IntVar(&o.pop3Port, "pop3", 2110, "with -setup: POP3 port")
	flag.IntVar(&o.imapPort, "imap", 2143, "with -setup: IMAP port")
	flag.StringVar(&o.workloads, "workload", "all", "smtp, sendmail, pop3, imap or all (comma-separated)")
	mailFlags()
	flag.Parse()
	var err error
	if o.setup != "" {
		err = setup(&o)
	} else {
		err = runWorkloads(&o)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "postern-bench: %v\n", err)
		os.Exit(1)
	}
}
