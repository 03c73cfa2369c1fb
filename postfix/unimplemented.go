package main

import (
	"fmt"
	"os"

	"postern/pkg/config"
)

// unimplemented shows one warning per thing main.cf and master.cf ask for that Postern does
// not do (config.Unimplemented: parameters, smtpd restrictions, table types, master.cf
// programs). postfix check also logs them; at start and reload master logs them itself, so
// they are only shown here.
func (s *script) unimplemented(toLog bool) {
	svcs, err := config.LoadMaster(s.dir, s.cfg)
	if err != nil {
		svcs = nil // checkFatal reports a broken master.cf; main.cf's warnings still hold
	}
	for _, w := range config.Unimplemented(s.cfg, svcs) {
		if toLog {
			s.warn("%s", w)
		} else {
			fmt.Fprintf(os.Stderr, "postfix/postfix-script: warning: %s\n", w)
		}
	}
}
