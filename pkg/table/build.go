package table

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"postern/pkg/printable"
)

// BuildOptions are postmap's and postalias's build flags.
type BuildOptions struct {
	NoFold        bool // -f
	Dup           Dup  // -r / -w
	NoInheritMode bool // -p: 0644 instead of the source's read bits
	KeepRootOwner bool // -o: when run as root, do not give the table to the source's owner
	Incremental   bool // -i: add to the existing table instead of starting empty
	// Warnf receives duplicate-entry warnings: "FILE.db: duplicate entry: \"key\"".
	Warnf func(format string, args ...any)
	// Extra entries added after the source (postalias's "@" -> "@").
	Extra [][2]string
}

// BuildFile builds name+".db" from entries produced by source (which calls put for each
// key/value in file order). The source file, when it exists, gives the new table its read
// permission bits and, when run as root, its owner. The table is replaced atomically.
func BuildFile(name string, o BuildOptions, source func(put func(key, value string)) error) error {
	path := name + DBSuffix
	b := NewBuilder(!o.NoFold, o.Dup)
	perm := fs.FileMode(0644)
	uid, gid := -1, -1
	if fi, err := os.Stat(name); err == nil {
		if !o.NoInheritMode {
			perm = 0600 | fi.Mode().Perm()&0044
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && !o.KeepRootOwner && st.Uid != 0 {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	if o.Incremental {
		if fi, err := os.Stat(path); err == nil {
			perm = fi.Mode().Perm()
			if err := b.Load(path); err != nil {
				return err
			}
		}
	}
	put := func(k, v string) {
		if b.Put(k, v) && o.Warnf != nil {
			if !o.NoFold {
				k = lower(k)
			}
			o.Warnf("%s: duplicate entry: \"%s\"", path, k)
		}
	}
	if err := source(put); err != nil {
		return err
	}
	for _, e := range o.Extra {
		b.Put(e[0], e[1])
	}
	if err := b.Write(path, perm, uid, gid); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return nil
}

// openError prints as Postfix does ("open FILE: No such file or directory") and still
// unwraps to the underlying error (errors.Is(err, fs.ErrNotExist) works).
type openError struct {
	msg string
	err error
}

func (e *openError) Error() string { return e.msg }
func (e *openError) Unwrap() error { return e.err }

func pathError(what, path string, err error) error {
	return &openError{msg: what + " " + path + ": " + printable.Strerror(err), err: err}
}
