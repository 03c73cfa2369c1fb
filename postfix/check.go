package main

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

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

// checkWarn reports ownership problems (postfix-script check-warn).
func (s *script) checkWarn() {
	uid, _, _ := lookupIDs(s.cfg.Get("mail_owner"), s.cfg.Get("setgid_group"))
	owner := func(p string) (int, bool) {
		fi, err := os.Lstat(p)
		if err != nil {
			return 0, false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return 0, false
		}
		return int(st.Uid), true
	}
	qdir := s.cfg.Get("queue_directory")
	if os.Geteuid() != 0 {
		return // a non-root instance owns everything itself
	}
	if o, ok := owner(qdir); ok && o != 0 {
		s.warn("not owned by root: %s", qdir)
	}
	for _, d := range queueDirs {
		p := filepath.Join(qdir, d.name)
		o, ok := owner(p)
		switch {
		case !ok:
		case d.owned && uid >= 0 && o != uid:
			s.warn("not owned by %s: %s", s.cfg.Get("mail_owner"), p)
		case !d.owned && o != 0:
			s.warn("not owned by root: %s", p)
		}
	}
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
	uid, gid, sgid := lookupIDs(s.cfg.Get("mail_owner"), s.cfg.Get("setgid_group"))
	if uid < 0 {
		s.fatal("file %s/main.cf: parameter mail_owner: unknown user name value: %s", s.dir, s.cfg.Get("mail_owner"))
	}
	qdir := s.cfg.Get("queue_directory")
	for _, d := range queueDirs {
		p := filepath.Join(qdir, d.name)
		u, g := 0, 0
		if d.owned {
			u, g = uid, gid
			if (d.name == "maildrop" || d.name == "public") && sgid >= 0 {
				g = sgid
			}
		}
		os.Chown(p, u, g)
		os.Chmod(p, d.mode)
	}
	os.Chown(s.cfg.Get("data_directory"), uid, gid)
	return 0
}
