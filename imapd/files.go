package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"postern/pkg/maildir"
	"postern/pkg/maildirpp"
)

var (
	fileSeq  atomic.Uint64
	hostName = func() string {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		return maildir.EscapeHost(h)
	}()
)

func osRemove(p string) error   { return os.Remove(p) }
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// uniqueBase makes a new file base name, Dovecot/Courier style:
// SEC.M<usec>P<pid>Q<n>.HOST, plus ",S=size,W=vsize" when known.
func uniqueBase(size, vsize int64) string {
	now := time.Now()
	b := fmt.Sprintf("%d.M%dP%dQ%d.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), fileSeq.Add(1), hostName)
	if size >= 0 {
		b += fmt.Sprintf(",S=%d,W=%d", size, vsize)
	}
	return b
}

// placeFile puts a message of another folder into folder's cur/ under a
// fresh name with the given flags: rename for MOVE, else a hard link (the
// file is immutable) or, across file systems, a copy. It returns the new
// file name.
func placeFile(folder, src, letters string, move bool) (string, error) {
	size, vsize := int64(-1), int64(0)
	base := maildirpp.Base(filepath.Base(src))
	if s, ok := nameField(base, ",S="); ok {
		if w, ok := nameField(base, ",W="); ok {
			size, vsize = s, w
		}
	}
	name := maildirpp.JoinName(uniqueBase(size, vsize), letters, "")
	dst := filepath.Join(folder, "cur", name)
	if move {
		return name, os.Rename(src, dst)
	}
	tmp := filepath.Join(folder, "tmp", maildirpp.Base(name))
	err := os.Link(src, tmp)
	if err != nil && !isNotExist(err) {
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

// appendFile stores an APPENDed message: CRLF made LF (as Maildir files
// are kept), written to tmp/, fsync'd, dated (INTERNALDATE is the mtime),
// then renamed into cur/ with its flags.
func appendFile(folder string, r io.Reader, letters string, date time.Time) (string, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	body := fromCRLF(raw)
	vsize := int64(len(toCRLF(body)))
	base := uniqueBase(int64(len(body)), vsize)
	tmp := filepath.Join(folder, "tmp", base)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0600)
	if err != nil {
		return "", err
	}
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !date.IsZero() {
		err = os.Chtimes(tmp, date, date)
	}
	name := maildirpp.JoinName(base, letters, "")
	if err == nil {
		err = os.Rename(tmp, filepath.Join(folder, "cur", name))
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return name, nil
}
