package maildir

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"
)

// Message is one message file in a Maildir's cur/.
type Message struct {
	Name string // file name in cur/, with any ":2," info
}

// Path is the message's path below the Maildir dir.
func (m *Message) Path(dir string) string { return filepath.Join(dir, "cur", m.Name) }

// ErrNoCur reports a directory that is not a Maildir.
var ErrNoCur = errors.New("Maildir invalid (no 'cur' directory)")

// TmpMaxAge is how old a tmp/ file must be before a reader purges it
// (the Maildir convention: a delivery never takes 36 hours).
const TmpMaxAge = 36 * time.Hour

// PurgeTmp removes files in dir/tmp older than TmpMaxAge, as Courier and
// Dovecot do when a mailbox is opened. Errors are ignored: it is tidying.
func PurgeTmp(dir string, now time.Time) {
	tmp := filepath.Join(dir, "tmp")
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !ValidName(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > TmpMaxAge {
			os.Remove(filepath.Join(tmp, e.Name()))
		}
	}
}

// MoveNew renames every message in dir/new to dir/cur, adding ":2," when
// the name has no info (an existing ":2,FLAGS" is kept; another ":" suffix
// is replaced), as Courier does at POP3 login and on a read-write SELECT.
// It returns the new names in cur/. A file that vanished meanwhile (another
// reader moved it) is skipped.
func MoveNew(dir string) ([]string, error) {
	names, err := ReadNames(filepath.Join(dir, "new"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var moved []string
	for _, n := range names {
		to, err := MoveToCur(dir, n)
		if err != nil {
			if os.IsNotExist(err) {
				if _, serr := os.Stat(filepath.Join(dir, "cur")); serr == nil {
					continue
				}
			}
			return moved, err
		}
		moved = append(moved, to)
	}
	return moved, nil
}

// MoveToCur renames new/name to cur/CurName(name) and returns the new name.
func MoveToCur(dir, name string) (string, error) {
	to := CurName(name)
	return to, rename(filepath.Join(dir, "new", name), filepath.Join(dir, "cur", to))
}

// rename is os.Rename without its lstat of the target (there to refuse
// renaming onto a directory, which rename(2) refuses for a file anyway):
// one system call per message moved or flagged, thousands at a login.
func rename(from, to string) error {
	for {
		err := syscall.Rename(from, to)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
		}
		return nil
	}
}

// ListCur returns the messages in dir/cur sorted with Less. Dot files and
// non-regular files are skipped.
func ListCur(dir string) ([]Message, error) {
	cur := filepath.Join(dir, "cur")
	ents, err := os.ReadDir(cur)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, ErrNoCur
		}
		return nil, err
	}
	msgs := make([]Message, 0, len(ents))
	for _, e := range ents {
		if !ValidName(e.Name()) {
			continue
		}
		// The directory entry's type (d_type; os.ReadDir stats only where
		// the file system leaves it unknown) says "regular file" without
		// a stat of each of thousands of files per login.
		if !e.Type().IsRegular() {
			continue // not a message
		}
		msgs = append(msgs, Message{Name: e.Name()})
	}
	sort.Slice(msgs, func(i, j int) bool { return Less(msgs[i].Name, msgs[j].Name) })
	return msgs, nil
}

// SetFlags renames cur/name to carry exactly flags and returns the new
// name. When the file is gone it returns the os error.
func SetFlags(dir, name, flags string) (string, error) {
	to := WithFlags(name, flags)
	if to == name {
		return name, nil
	}
	if err := rename(filepath.Join(dir, "cur", name), filepath.Join(dir, "cur", to)); err != nil {
		return name, err
	}
	return to, nil
}

// ReadNames returns the names in dir that may be messages (ValidName),
// unsorted, without a stat of each.
func ReadNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if ValidName(n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// FindBase looks for the message with the unique base in dir's cur/, then
// new/, for a reader whose file another client renamed meanwhile (new
// flags, or moved to cur/).
func FindBase(dir, base string) (name string, inNew, ok bool) {
	for _, sub := range []string{"cur", "new"} {
		names, _ := ReadNames(filepath.Join(dir, sub))
		for _, n := range names {
			if Base(n) == base {
				return n, sub == "new", true
			}
		}
	}
	return "", false, false
}
