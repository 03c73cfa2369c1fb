package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"postern/pkg/maildirpp"
)

// The info cache keeps what FETCH RFC822.SIZE and INTERNALDATE need
// (the size with CRLF line ends, which takes a read of the file, and the
// file's mtime) per base name, in a small file in the folder, so that a
// later session does not open every message again. It is derived data:
// a missing or damaged cache only costs time.

const cacheFile = "postern-imapcache"
const cacheHeader = "postern-imapcache 1"

type msgInfo struct {
	vsize int64 // RFC822.SIZE: bytes with bare LF counted as CRLF
	mtime int64 // INTERNALDATE, unix seconds
}

type infoCache struct {
	folder string
	m      map[string]msgInfo
	dirty  int
}

func loadInfoCache(folder string) *infoCache {
	c := &infoCache{folder: folder, m: map[string]msgInfo{}}
	f, err := os.Open(filepath.Join(folder, cacheFile))
	if err != nil {
		return c
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 256<<20))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	if !sc.Scan() || sc.Text() != cacheHeader {
		return c
	}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue
		}
		v, err1 := strconv.ParseInt(f[1], 10, 64)
		t, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 == nil && err2 == nil && v >= 0 {
			c.m[f[0]] = msgInfo{v, t}
		}
	}
	return c
}

// save writes the cache when it has grown, dropping entries for files that
// are gone (keep lists the live base names).
func (c *infoCache) save(keep map[string]*message) {
	if c.dirty == 0 {
		return
	}
	var b bytes.Buffer
	b.WriteString(cacheHeader + "\n")
	for base, in := range c.m {
		if _, ok := keep[base]; !ok || strings.ContainsAny(base, " \n") {
			delete(c.m, base)
			continue
		}
		b.WriteString(base)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(in.vsize, 10))
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(in.mtime, 10))
		b.WriteByte('\n')
	}
	if maildirpp.WriteFileAtomic(c.folder, cacheFile, b.Bytes()) == nil {
		c.dirty = 0
	}
}

// info returns the message's size and date, from the cache or the file.
func (mb *mailbox) info(m *message) (msgInfo, error) {
	if in, ok := mb.cache.m[m.base]; ok {
		return in, nil
	}
	f, err := mb.open(m)
	if err != nil {
		return msgInfo{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return msgInfo{}, err
	}
	in := msgInfo{mtime: fi.ModTime().Unix()}
	if w, ok := nameField(m.base, ",W="); ok {
		in.vsize = w
	} else if in.vsize, err = crlfSize(f); err != nil {
		return msgInfo{}, err
	}
	mb.cache.m[m.base] = in
	mb.cache.dirty++
	if mb.cache.dirty >= 5000 {
		mb.cache.save(mb.byBase)
	}
	return in, nil
}

func (in msgInfo) date() time.Time { return time.Unix(in.mtime, 0) }

func nameField(base, key string) (int64, bool) {
	i := strings.Index(base, key)
	if i < 0 {
		return 0, false
	}
	s := base[i+len(key):]
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(s[:j], 10, 64)
	return n, err == nil && j > 0
}

// crlfSize is the length of the content with every bare LF made CRLF.
func crlfSize(r io.Reader) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	prevCR := false
	for {
		k, err := r.Read(buf)
		for _, c := range buf[:k] {
			if c == '\n' && !prevCR {
				n++
			}
			prevCR = c == '\r'
			n++
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// toCRLF converts bare LF to CRLF, as messages go out on the wire.
func toCRLF(b []byte) []byte {
	extra := 0
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			extra++
		}
	}
	if extra == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+extra)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// fromCRLF turns CRLF into LF for storage, as Courier and Dovecot keep
// Maildir files.
func fromCRLF(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
}

// saveIfLarge writes the cache once a command has added many entries, so
// a long session's work survives a crash.
func (c *infoCache) saveIfLarge(keep map[string]*message) {
	if c.dirty >= 1000 {
		c.save(keep)
	}
}
