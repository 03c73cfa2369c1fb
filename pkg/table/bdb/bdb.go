// Package bdb recognizes the Berkeley DB files Postfix's postmap and postalias make for hash:
// and btree: tables (FILE.db), which Postern does not read, and words the error that says how
// to replace one. It is apart from package table so that postfix check can use it without
// linking the table format.
package bdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrBerkeleyDB marks a FILE.db that Postfix left in Berkeley DB format.
var ErrBerkeleyDB = errors.New("Berkeley DB file")

// ErrNoSource marks a Berkeley DB FILE.db whose source FILE is gone, so that no postmap can
// rebuild it as it is.
var ErrNoSource = errors.New("no source file")

// Berkeley DB magic numbers, at offset 12 of the metadata page (DB 2.x and later) or at offset
// 0 (DB 1.85), in either byte order: hash, btree.
var magics = []uint32{0x00061561, 0x00053162}

// HeadSize is how many bytes of a file Is needs.
const HeadSize = 16

// Is reports whether head, the first HeadSize bytes of a file, is a Berkeley DB header.
func Is(head []byte) bool {
	for _, off := range []int{12, 0} {
		if len(head) < off+4 {
			continue
		}
		le := binary.LittleEndian.Uint32(head[off:])
		be := binary.BigEndian.Uint32(head[off:])
		for _, m := range magics {
			if le == m || be == m {
				return true
			}
		}
	}
	return false
}

// File reports whether the file at path is a Berkeley DB file; a missing or unreadable file is
// not.
func File(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, HeadSize)
	n, _ := f.ReadAt(head, 0)
	return Is(head[:n])
}

// problem is the error Problem returns: its text, matching ErrBerkeleyDB and, when the source
// is gone, ErrNoSource.
type problem struct {
	text     string
	noSource bool
}

func (p *problem) Error() string { return p.text }

func (p *problem) Is(target error) bool {
	return target == ErrBerkeleyDB || target == ErrNoSource && p.noSource
}

// Problem is the error for dbPath (FILE.db) in Berkeley DB format. It names the command that
// rebuilds it from FILE in Postern's format: cmd ("postmap" or "postalias"), or, when cmd is
// "", postmap or newaliases. When FILE is gone it matches ErrNoSource too and says how to get
// the entries back instead.
func Problem(dbPath, cmd string) error {
	src := strings.TrimSuffix(dbPath, ".db")
	if _, err := os.Stat(src); err != nil {
		if cmd == "" {
			cmd = "postmap"
		}
		return &problem{noSource: true, text: fmt.Sprintf("table %s was made by Postfix (Berkeley DB), which Postern cannot read, "+
			"and its source file %s is missing: write %s again (db_dump -p %s, from Debian's db-util, lists the entries) and run %q",
			dbPath, src, src, dbPath, cmd+" "+src)}
	}
	fix := fmt.Sprintf("run %q (or newaliases)", "postmap "+src)
	if cmd != "" {
		fix = fmt.Sprintf("run %q", cmd+" "+src)
	}
	return &problem{text: fmt.Sprintf("table %s was made by Postfix (Berkeley DB); %s to rebuild it", dbPath, fix)}
}
