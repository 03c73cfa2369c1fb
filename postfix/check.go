package main

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"postern/pkg/config"
)

// queueDirs mirror master's list (postfix-files): name, mode, owned by
// mail_owner (pid/ stays root's).
var queueDirs = []struct {
	name  string
	mode  os.FileMode
	owned bool
}{
	{"maildrop", 0730 | os.ModeSticky, true},
	{"incoming", 0700, true},
	{"active", 0700, true},
	{"deferred", 0700, true},
	{"hold", 0700, true},
	{"corrupt", 0700, true},
	{"bounce", 0700, true},
	{"defer", 0700, true},
	{"trace", 0700, true},
	{"flush", 0700, true},
	{"private", 0700, true},
	{"public", 0710 | os.ModeSetgid, true},
	{"pid", 0755, false},
	{"saved", 0700, true},
}

func lookupIDs(owner, group string) (uid, gid, sgid int) {
	uid, gid, sgid = -1, -1, -1
	if u, err := user.Lookup(owner); err == nil {
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	if g, err := user.LookupGroup(group); err == nil {
		sgid, _ = strconv.Atoi(g.Gid)
	}
	return
}

// checkFatal creates missing directories and verifies that master.cf
// parses (main.cf was parsed already). It returns 1 after a fatal error.
func (s *script) checkFatal() int {
	root := os.Geteuid() == 0
	uid, gid, sgid := lookupIDs(s.cfg.Get("mail_owner"), s.cfg.Get("setgid_group"))
	if root && uid < 0 {
		s.fatal("file %s/main.cf: parameter mail_owner: unknown user name value: %s", s.dir, s.cfg.Get("mail_owner"))
	}
	qdir := s.cfg.Get("queue_directory")
	if err := os.MkdirAll(qdir, 0755); err != nil {
		s.fatal("create %s: %v", qdir, err)
	}
	for _, d := range queueDirs {
		p := filepath.Join(qdir, d.name)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.Mkdir(p, 0700); err != nil {
			s.fatal("create %s: %v", p, err)
		}
		if root && d.owned {
			g := gid
			if (d.name == "maildrop" || d.name == "public") && sgid >= 0 {
				g = sgid
			}
			os.Chown(p, uid, g)
		}
		os.Chmod(p, d.mode)
	}
	ddir := s.cfg.Get("data_directory")
	if _, err := os.Lstat(ddir); err != nil {
		if err := os.MkdirAll(ddir, 0700); err != nil {
			s.fatal("create %s: %v", ddir, err)
		}
		if root {
			os.Chown(ddir, uid, gid)
		}
	}
	if _, err := config.LoadMaster(s.dir, s.cfg); err != nil {
		s.fatal("%v", err)
	}
	return 0
}

func (s *script) check() int {
	if code := s.checkFatal(); code != 0 {
		return code
	}
	s.checkWarn()
	return 0
}

// setPermissions gives the queue directories their owners and modes.
func (s *script) setPermissions() int {
	if os.Geteuid() != 0 {
		s.fatal("set-permissions: must be run as root")
	}
	uid, _, sgid := lookupIDs(s.cfg.Get("mail_owner"), s.cfg.Get("setgid_group"))
	if uid < 0 {
		s.fatal("file %s/main.cf: parameter mail_owner: unknown user name value: %s", s.dir, s.cfg.Get("mail_owner"))
	}
	qdir := s.cfg.Get("queue_directory")
	for _, d := range queueDirs {
		p := filepath.Join(qdir, d.name)
		u, g := 0, 0
		if d.owned {
			// postfix-files gives these group "-": left as it is.
			u, g = uid, -1
			if (d.name == "maildrop" || d.name == "public") && sgid >= 0 {
				g = sgid
			}
		}
		os.Chown(p, u, g)
		os.Chmod(p, d.mode)
	}
	os.Chown(s.cfg.Get("data_directory"), uid, -1)
	cmd := s.cfg.Get("command_directory")
	for _, p := range []string{"postdrop", "postqueue"} {
		p = filepath.Join(cmd, p)
		if _, err := os.Stat(p); err == nil && sgid >= 0 {
			os.Chown(p, 0, sgid)
			os.Chmod(p, 0755|os.ModeSetgid)
		}
	}
	return 0
}
