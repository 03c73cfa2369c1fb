package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Options shape the new file.
type Options struct {
	// Mode is the new file's permission bits, set exactly (no umask).
	// Zero means 0600.
	Mode fs.FileMode
	// Chown sets the owner to UID and GID (-1 leaves one as it is).
	Chown    bool
	UID, GID int
	// TmpDir holds the temporary file; it must be on the file system of
	// the target. Default: the target's directory.
	TmpDir string
	// NoSync skips the fsyncs of the file and the directory, for derived
	// data a crash may lose (a cache, as Courier keeps its UID map).
	NoSync bool
}

// File is the new version of a file while it is written. Write to it,
// then Commit; Abort (always safe, also after Commit) throws it away.
type File struct {
	*os.File
	path string
	opt  Options
	done bool
}

// Create starts a new version of path.
func Create(path string, opt Options) (*File, error) {
	dir := opt.TmpDir
	if dir == "" {
		dir = filepath.Dir(path)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	return &File{File: f, path: path, opt: opt}, nil
}

// Commit gives the file its owner and mode, fsyncs it, closes it and
// renames it over the target, then fsyncs the target's directory. On an
// error the target is as it was and the temporary file is gone. Errors are
// *fs.PathError (op "chown", "chmod", "sync", "close") or *os.LinkError
// (op "rename") naming the temporary file.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: commit after commit or abort")
	}
	f.done = true
	tmp := f.Name()
	err := f.finish()
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err != nil {
		f.File.Close()
		os.Remove(tmp)
		return err
	}
	if !f.opt.NoSync {
		// The rename is done; a failed directory fsync cannot undo it.
		if d, err := os.Open(filepath.Dir(f.path)); err == nil {
			d.Sync()
			d.Close()
		}
	}
	return nil
}

func (f *File) finish() error {
	if f.opt.Chown {
		// Before the chmod: chown clears set-id bits.
		if err := f.Chown(f.opt.UID, f.opt.GID); err != nil {
			return err
		}
	}
	mode := f.opt.Mode
	if mode == 0 {
		mode = 0600
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if !f.opt.NoSync {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return f.File.Close()
}

// Abort removes the temporary file unless Commit succeeded.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.Name())
}

// WriteFile replaces path with data.
func WriteFile(path string, data []byte, opt Options) error {
	f, err := Create(path, opt)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}
