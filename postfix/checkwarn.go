package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"postern/pkg/config"
)

// ownedQueueDirs are the queue directories whose whole tree (sockets and
// fifos aside) must belong to mail_owner. maildrop is checked on its own
// and never descended into: it is the least trusted directory.
var ownedQueueDirs = []string{"saved", "incoming", "active", "defer", "deferred", "bounce", "hold", "trace", "corrupt", "public", "private", "flush", "pool"}

// checkWarn is postfix-script's check-warn: ownership and mode problems
// are warnings, with Postfix's texts and paths spelled as find(1) prints
// them there ("/var/spool/postfix/.", "/etc/postfix/./main.cf").
func (s *script) checkWarn() {
	if os.Geteuid() != 0 {
		// A non-root instance (tests, make run) owns everything itself;
		// Postfix's checks would only name files it cannot fix.
		return
	}
	owner := s.cfg.Get("mail_owner")
	group := s.cfg.Get("setgid_group")
	uid, sgid := -1, -1
	if u, err := user.Lookup(owner); err == nil {
		uid, _ = strconv.Atoi(u.Uid)
	}
	if g, err := user.LookupGroup(group); err == nil {
		sgid, _ = strconv.Atoi(g.Gid)
	}
	qdir := s.cfg.Get("queue_directory")
	shared := s.checkSharedFiles()

	notOwnedBy := func(who string, want int) func(string, fs.FileInfo) {
		return func(p string, fi fs.FileInfo) {
			if want >= 0 && statOf(fi).Uid != uint32(want) {
				s.warn("not owned by %s: %s", who, p)
			}
		}
	}
	writable := func(p string, fi fs.FileInfo) {
		if fi.Mode().Perm()&0022 != 0 {
			s.warn("group or other writable: %s", p)
		}
	}
	toRoot := notOwnedBy("root", 0)

	// The queue directory itself and pid/ are root's.
	for _, p := range []string{qdir + "/.", qdir + "/pid"} {
		if fi, err := os.Lstat(p); err == nil {
			toRoot(p, fi)
			writable(p, fi)
		}
	}

	// Root-owned trees: configuration, and the programs unless this is a
	// secondary instance.
	roots := []string{s.dir + "/."}
	if shared {
		roots = append(roots, s.cfg.Get("daemon_directory")+"/.", s.cfg.Get("meta_directory")+"/.")
		if d := s.cfg.Get("shlib_directory"); d != "no" && d != "" {
			roots = append(roots, d+"/.")
		}
	}
	for _, r := range uniq(roots) {
		walk(r, func(p string, fi fs.FileInfo) {
			toRoot(p, fi)
			// The mode check is find -L: a symbolic link's own mode is
			// always 0777, what counts is its target's (Debian's
			// makedefs.out links to /usr/share/postfix).
			if fi.Mode()&fs.ModeSymlink != 0 {
				if fi, err := os.Stat(p); err == nil {
					writable(p, fi)
				}
				return
			}
			writable(p, fi)
		})
	}

	// mail_owner's trees.
	walk(s.cfg.Get("data_directory")+"/.", func(p string, fi fs.FileInfo) {
		notOwnedBy(owner, uid)(p, fi)
		writable(p, fi)
	})
	for _, d := range ownedQueueDirs {
		walk(filepath.Join(qdir, d), func(p string, fi fs.FileInfo) {
			if fi.Mode()&(fs.ModeNamedPipe|fs.ModeSocket) == 0 {
				notOwnedBy(owner, uid)(p, fi)
			}
		})
	}
	if fi, err := os.Lstat(filepath.Join(qdir, "maildrop")); err == nil {
		notOwnedBy(owner, uid)(filepath.Join(qdir, "maildrop"), fi)
	}

	// setgid_group's directories and programs.
	cmdDir := s.cfg.Get("command_directory")
	sgidFiles := []string{filepath.Join(qdir, "public"), filepath.Join(qdir, "maildrop")}
	if shared {
		sgidFiles = append([]string{filepath.Join(cmdDir, "postqueue"), filepath.Join(cmdDir, "postdrop")}, sgidFiles...)
	}
	for _, p := range sgidFiles {
		if fi, err := os.Lstat(p); err == nil && sgid >= 0 && statOf(fi).Gid != uint32(sgid) {
			s.warn("not owned by group %s: %s", group, p)
		}
	}
	if shared {
		for _, p := range sgidFiles[:2] {
			// find -perm -02111: set-gid and executable by all three.
			if fi, err := os.Lstat(p); err == nil && (fi.Mode()&os.ModeSetgid == 0 || fi.Mode().Perm()&0111 != 0111) {
				s.warn("not set-gid or not owner+group+world executable: %s", p)
			}
		}
	}

	// Debian's chroot copies (bin etc lib sbin usr) are root's and should
	// match the originals.
	for _, d := range []string{"bin", "etc", "lib", "sbin", "usr"} {
		walk(filepath.Join(qdir, d), func(p string, fi fs.FileInfo) {
			rel, _ := filepath.Rel(qdir, p)
			if statOf(fi).Uid != 0 {
				s.warn("not owned by root: %s", p)
			}
			if fi.Mode().IsRegular() && !sameContent(p, "/"+rel) {
				s.warn("%s and /%s differ", p, rel)
			}
		})
	}

	walk(filepath.Join(qdir, "corrupt"), func(p string, fi fs.FileInfo) {
		if fi.Mode().IsRegular() {
			rel, _ := filepath.Rel(qdir, p)
			s.warn("damaged message: %s", rel)
		}
	})

	// Another MTA's sendmail left behind.
	if shared && isFile("/usr/sbin/sendmail") && isFile("/usr/lib/sendmail") && !sameContent("/usr/sbin/sendmail", "/usr/lib/sendmail") {
		s.warn("/usr/lib/sendmail and /usr/sbin/sendmail differ")
		s.warn("Replace one by a symbolic link to the other")
	}
}

// checkSharedFiles is false for a secondary instance (one listed in the
// default instance's multi_instance_directories): the programs are the
// default instance's to check.
func (s *script) checkSharedFiles() bool {
	def := config.DefaultDir
	if filepath.Clean(s.dir) == filepath.Clean(def) {
		return true
	}
	c, err := config.Load(def)
	if err != nil {
		return true
	}
	for _, d := range c.List("multi_instance_directories") {
		if filepath.Clean(d) == filepath.Clean(s.dir) {
			return false
		}
	}
	return true
}

// walk calls fn for root and, when it is a directory, everything below it,
// without following symbolic links (as find). Paths keep root's spelling.
func walk(root string, fn func(string, fs.FileInfo)) {
	fi, err := os.Lstat(root)
	if err != nil {
		return
	}
	fn(root, fi)
	if !fi.IsDir() {
		return
	}
	f, err := os.Open(root)
	if err != nil {
		return
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	sort.Strings(names)
	for _, n := range names {
		walk(root+"/"+n, fn)
	}
}

func statOf(fi fs.FileInfo) *syscall.Stat_t {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st
	}
	return &syscall.Stat_t{}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// sameContent compares two files as cmp -s does; files too large to read
// at once for this purpose count as the same.
func sameContent(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA != nil || errB != nil {
		return errA != nil && errB != nil
	}
	if os.SameFile(fa, fb) {
		return true
	}
	if fa.Size() != fb.Size() {
		return false
	}
	if fa.Size() > 64<<20 {
		return true
	}
	x, errA := os.ReadFile(a)
	y, errB := os.ReadFile(b)
	return errA == nil && errB == nil && bytes.Equal(x, y)
}

func uniq(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		s = strings.TrimSpace(s)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
