package maildir

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"postern/pkg/atomicfile"
)

// Store writes a message given in network form (CRLF line ends, as IMAP
// APPEND has it) into dir's cur/ under a fresh unique name with its sizes
// and the flag letters: kept with LF line ends, written to tmp/, fsync'd,
// dated (mtime = date, unless zero; IMAP's INTERNALDATE), then renamed
// into cur/. It returns the file name in cur/.
func Store(dir string, r io.Reader, letters string, date time.Time) (string, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	data := fromCRLF(raw)
	vsize := int64(len(ToCRLF(data)))
	base := UniqueName(time.Now(), int64(len(data)), vsize)
	tmp := filepath.Join(dir, "tmp", base)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0600)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !date.IsZero() {
		err = os.Chtimes(tmp, date, date)
	}
	name := JoinName(base, letters, "")
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, "cur", name))
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return name, nil
}

// Place puts the message file src (of another Maildir) into dir's cur/
// under a fresh unique name with the flag letters: a rename when move,
// else a hard link (message files are never changed in place) or, across
// file systems, a copy keeping the mtime. The ",S=" and ",W=" sizes of
// src's name carry over. It returns the new file name; an error for which
// errors.Is(err, fs.ErrNotExist) holds means src is gone (see FindBase).
func Place(dir, src, letters string, move bool) (string, error) {
	size, vsize := int64(-1), int64(0)
	old := filepath.Base(src)
	if s, ok := SizeFromName(old); ok {
		if w, ok := VSizeFromName(old); ok {
			size, vsize = s, w
		}
	}
	base := UniqueName(time.Now(), size, vsize)
	name := JoinName(base, letters, "")
	dst := filepath.Join(dir, "cur", name)
	if move {
		return name, os.Rename(src, dst)
	}
	tmp := filepath.Join(dir, "tmp", base)
	err := os.Link(src, tmp)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		err = copyFile(src, tmp)
	}
	if err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return name, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(dst, fi.ModTime(), fi.ModTime())
	}
	if err != nil {
		os.Remove(dst)
	}
	return err
}

// WriteFile replaces the state file dir/name (courierpop3dsizelist, the
// UID map, subscriptions, imapd's cache) with data, mode 0600, through a
// temporary file in dir/tmp (dir itself when it has none) and a rename.
// As Courier, no fsync: each of these is rebuilt when lost.
func WriteFile(dir, name string, data []byte) error {
	tmpDir := filepath.Join(dir, "tmp")
	if fi, err := os.Stat(tmpDir); err != nil || !fi.IsDir() {
		tmpDir = dir
	}
	return atomicfile.WriteFile(filepath.Join(dir, name), data, atomicfile.Options{Mode: 0600, TmpDir: tmpDir, NoSync: true})
}
