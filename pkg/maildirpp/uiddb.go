package maildirpp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"postern/pkg/maildir"
)

// File names of the UID maps inside a folder directory.
const (
	CourierUIDDB  = "courierimapuiddb"
	DovecotUIDDB  = "dovecot-uidlist"
	courierEpoch  = 1000000000 // Courier's IMAP_EPOCH
	maxUIDDBBytes = 256 << 20
)

// UIDDB is one folder's UID map: UIDVALIDITY, the next UID to hand out and
// the UID of every message, keyed by the file's base name.
type UIDDB struct {
	Validity uint32
	Next     uint32
	UIDs     map[string]uint32
}

// ErrBadUIDDB is a UID map whose header does not parse.
var ErrBadUIDDB = errors.New("unrecognised UID database")

// NewUIDDB starts a map with a fresh UIDVALIDITY the way Courier makes one
// (seconds since 2001-09-09, so about nine digits).
func NewUIDDB(now time.Time) *UIDDB {
	v := now.Unix() - courierEpoch
	if v <= 0 || v > 0xffffffff {
		v = now.Unix() & 0x7fffffff
	}
	return &UIDDB{Validity: uint32(v), Next: 1, UIDs: map[string]uint32{}}
}

// ParseCourier reads courierimapuiddb version 1:
//
//	1 UIDVALIDITY NEXTUID
//	UID BASENAME
//	...
//
// Lines that do not parse are skipped, as Courier does; a bad header is
// ErrBadUIDDB.
func ParseCourier(data []byte) (*UIDDB, error) {
	sc := newLines(data)
	if !sc.Scan() {
		return nil, ErrBadUIDDB
	}
	f := strings.Fields(sc.Text())
	if len(f) != 3 || f[0] != "1" {
		return nil, ErrBadUIDDB
	}
	v, err1 := parseUID(f[1])
	n, err2 := parseUID(f[2])
	if err1 != nil || err2 != nil || v == 0 {
		return nil, ErrBadUIDDB
	}
	db := &UIDDB{Validity: v, Next: n, UIDs: map[string]uint32{}}
	for sc.Scan() {
		uidText, name, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		uid, err := parseUID(uidText)
		if err != nil || uid == 0 || name == "" {
			continue
		}
		db.add(maildir.Base(name), uid)
	}
	return db, nil
}

// ParseDovecot reads dovecot-uidlist, version 3 ("3 V<uidv> N<next> ...",
// lines "UID [fields] :FILENAME") or version 1 (Courier's format).
func ParseDovecot(data []byte) (*UIDDB, error) {
	sc := newLines(data)
	if !sc.Scan() {
		return nil, ErrBadUIDDB
	}
	hdr := strings.Fields(sc.Text())
	if len(hdr) == 0 {
		return nil, ErrBadUIDDB
	}
	switch hdr[0] {
	case "1":
		return ParseCourier(data)
	case "2", "3":
	default:
		return nil, ErrBadUIDDB
	}
	db := &UIDDB{UIDs: map[string]uint32{}}
	for _, h := range hdr[1:] {
		if len(h) < 2 {
			continue
		}
		switch h[0] {
		case 'V':
			db.Validity, _ = parseUID(h[1:])
		case 'N':
			db.Next, _ = parseUID(h[1:])
		}
	}
	if db.Validity == 0 {
		return nil, ErrBadUIDDB
	}
	for sc.Scan() {
		line := sc.Text()
		uidText, rest, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		uid, err := parseUID(uidText)
		if err != nil || uid == 0 {
			continue
		}
		// Extension fields come first; the file name follows " :".
		var name string
		if strings.HasPrefix(rest, ":") {
			name = rest[1:]
		} else if i := strings.Index(rest, " :"); i >= 0 {
			name = rest[i+2:]
		}
		if name == "" {
			continue
		}
		db.add(maildir.Base(name), uid)
	}
	return db, nil
}

func (db *UIDDB) add(base string, uid uint32) {
	if base == "" {
		return
	}
	db.UIDs[base] = uid
	if uid >= db.Next {
		db.Next = uid + 1
	}
}

func newLines(data []byte) *bufio.Scanner {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	return sc
}

func parseUID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

// Marshal renders the map in courierimapuiddb version 1 format, by UID.
func (db *UIDDB) Marshal() []byte {
	type ent struct {
		uid  uint32
		name string
	}
	ents := make([]ent, 0, len(db.UIDs))
	for n, u := range db.UIDs {
		ents = append(ents, ent{u, n})
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].uid < ents[j].uid })
	var b bytes.Buffer
	b.Grow(len(ents) * 48)
	fmt.Fprintf(&b, "1 %d %d\n", db.Validity, db.Next)
	for _, e := range ents {
		b.WriteString(strconv.FormatUint(uint64(e.uid), 10))
		b.WriteByte(' ')
		b.WriteString(e.name)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// LoadUIDDB reads the folder's courierimapuiddb, or failing that its
// dovecot-uidlist. It returns fs.ErrNotExist when the folder has neither;
// a file that exists but does not parse is ErrBadUIDDB (callers then start
// afresh, as Courier does).
func LoadUIDDB(folder string) (*UIDDB, error) {
	data, err := readSmall(filepath.Join(folder, CourierUIDDB))
	if err == nil {
		return ParseCourier(data)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	data, err = readSmall(filepath.Join(folder, DovecotUIDDB))
	if err != nil {
		return nil, err
	}
	return ParseDovecot(data)
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxUIDDBBytes {
		return nil, ErrBadUIDDB
	}
	b := make([]byte, fi.Size())
	n, err := f.ReadAt(b, 0)
	if n == len(b) {
		err = nil
	}
	return b[:n], err
}

// Save writes courierimapuiddb in the folder through a temporary file in
// its tmp/ and a rename, as Courier does (maildir.WriteFile).
func (db *UIDDB) Save(folder string) error {
	return maildir.WriteFile(folder, CourierUIDDB, db.Marshal())
}

// LockFolder takes an exclusive flock on the folder directory while its
// UID map is read and rewritten, so that two processes serving the same
// folder hand out UIDs one after the other. unlock releases it.
func LockFolder(folder string) (unlock func(), err error) {
	fd, err := unix.Open(folder, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return func() { unix.Close(fd) }, nil
}

// SyncUIDs brings the folder's UID map up to date with a listing of its
// messages (files: unique base -> entry; name gives an entry's file
// name): files without a UID get the next ones in Courier's order
// (maildir.Less), vanished files lose theirs, and the map is saved when
// anything changed or the folder had no courierimapuiddb yet (a new
// folder, or one imported from dovecot-uidlist). It must run under
// LockFolder. db is the map as already loaded (nil: read it; a missing or
// unreadable map starts afresh, as Courier does). It returns the map and
// whether it was written.
func SyncUIDs[E any](folder string, db *UIDDB, files map[string]E, name func(E) string) (*UIDDB, bool, error) {
	if db == nil {
		var err error
		db, err = LoadUIDDB(folder)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrBadUIDDB) {
				return nil, false, err
			}
			db = NewUIDDB(time.Now())
		}
	}
	changed := false
	if _, err := os.Stat(filepath.Join(folder, CourierUIDDB)); err != nil {
		changed = true
	}
	for b := range db.UIDs {
		if _, ok := files[b]; !ok {
			delete(db.UIDs, b)
			changed = true
		}
	}
	var fresh []string
	for b, e := range files {
		if _, ok := db.UIDs[b]; !ok {
			fresh = append(fresh, name(e))
		}
	}
	if len(fresh) > 0 {
		sort.Slice(fresh, func(i, j int) bool { return maildir.Less(fresh[i], fresh[j]) })
		for _, n := range fresh {
			if db.Next == 0 || db.Next == ^uint32(0) {
				return nil, false, errors.New("UID space exhausted")
			}
			db.UIDs[maildir.Base(n)] = db.Next
			db.Next++
		}
		changed = true
	}
	if changed {
		if err := db.Save(folder); err != nil {
			return nil, false, err
		}
	}
	return db, changed, nil
}
