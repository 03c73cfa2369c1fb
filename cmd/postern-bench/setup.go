package main

import (
	"fmt"
	"os"
	"path/filepath"

	"postern/pkg/testenv"
)

// setup writes the configuration of make run: ./run/etc, a queue under
// ./run/spool, mail under ./run/mail, the log in ./run/maillog.
func setup(o *options) error {
	dir, err := filepath.Abs(o.setup)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if err := testenv.EnsureSystemAccounts(); err != nil {
		return err
	}
	l := &testenv.Layout{
		Dir:            dir,
		BinDir:         filepath.Dir(exe),
		MyHostname:     "localhost",
		MyDomain:       "localdomain",
		SMTPAddr:       fmt.Sprintf("127.0.0.1:%d", o.smtpPort),
		SubmissionAddr: fmt.Sprintf("127.0.0.1:%d", o.submissionPort),
		POP3Addr:       fmt.Sprintf("127.0.0.1:%d", o.pop3Port),
		IMAPAddr:       fmt.Sprintf("127.0.0.1:%d", o.imapPort),
	}
	return l.Write()
}
