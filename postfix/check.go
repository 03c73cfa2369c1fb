package main

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"postern/pkg/config"
	"postern/pkg/queue"
)

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
	uid, _, sgid := lookupIDs(s.cfg.Get("mail_owner"), s.cfg.Get("setgid_group"))
	if root && uid < 0 {
		s.fatal("file %s/main.cf: parameter mail_owner: unknown user name value: %s", s.dir, s.cfg.Get("mail_owner"))
	}
	owner := -1
	if root {
		owner = uid
	}
	if err := queue.New(s.cfg.Get("queue_directory")).Init(owner, sgid); err != nil {
		s.fatal("%v", err)
	}
	if err := queue.InitDataDir(s.cfg.Get("data_directory"), owner); err != nil {
		s.fatal("%v", err)
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
	s.unimplemented(s.cmd == "check")
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
	for _, d := range queue.AllDirs {
		p := filepath.Join(qdir, d)
		u, g := 0, 0
		if d != "pid" {
			// postfix-files gives these group "-": left as it is.
			u, g = uid, -1
			if (d == queue.Maildrop || d == "public") && sgid >= 0 {
				g = sgid
			}
		}
		os.Chown(p, u, g)
		os.Chmod(p, queue.DirMode(d))
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
