package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// queueDirs are created under queue_directory with these modes (Postfix's
// postfix-files). pid/ stays root's; the others belong to mail_owner.
var queueDirs = []struct {
	name string
	mode os.FileMode
}{
	{"maildrop", 0730 | os.ModeSticky},
	{"incoming", 0700},
	{"active", 0700},
	{"deferred", 0700},
	{"hold", 0700},
	{"corrupt", 0700},
	{"bounce", 0700},
	{"defer", 0700},
	{"trace", 0700},
	{"flush", 0700},
	{"private", 0700},
	{"public", 0710 | os.ModeSetgid},
	{"pid", 0755},
	{"saved", 0700},
}

// makeQueueDirs creates missing queue directories and data_directory.
// When master runs as root, new directories other than pid/ are given to
// owner (mail_owner) and maildrop/ and public/ to group setgid (postdrop).
func makeQueueDirs(queueDir, dataDir string, owner *ids, setgid int) error {
	root := os.Geteuid() == 0
	if err := os.MkdirAll(queueDir, 0755); err != nil {
		return fmt.Errorf("create queue directory: %v", err)
	}
	mk := func(path string, mode os.FileMode, gid int, own bool) error {
		if _, err := os.Lstat(path); err == nil {
			return nil
		}
		if err := os.Mkdir(path, 0700); err != nil && !os.IsExist(err) {
			return fmt.Errorf("create directory %s: %v", path, err)
		}
		if root && own && owner != nil {
			if err := os.Chown(path, owner.uid, gid); err != nil {
				return fmt.Errorf("chown %s: %v", path, err)
			}
		}
		return os.Chmod(path, mode)
	}
	for _, d := range queueDirs {
		gid := -1
		if owner != nil {
			gid = owner.gid
		}
		if (d.name == "maildrop" || d.name == "public") && setgid >= 0 {
			gid = setgid
		}
		if err := mk(filepath.Join(queueDir, d.name), d.mode, gid, d.name != "pid"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(dataDir), 0755); err != nil {
		return err
	}
	gid := -1
	if owner != nil {
		gid = owner.gid
	}
	return mk(dataDir, 0700, gid, true)
}
