package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"

	"postern/pkg/header"
	"postern/pkg/maildir"
)

// The cache (postern-imapcache, one per folder) keeps what would otherwise
// take a read of every message file: the size as sent (CRLF line ends), the
// file's mtime (INTERNALDATE) and the header, which SEARCH HEADER and
// ENVELOPE use. It also keeps the folder's listing as last scanned (file
// names and UIDs) with the stamps of new/, cur/ and courierimapuiddb, so
// that a session whose folder has not changed since opens it without
// reading the directories or the UID map. It is derived data: a missing,
// stale or damaged cache only costs time.

const cacheFile = "postern-imapcache"

const (
	cacheHeader1 = "postern-imapcache 1"
	cacheHeader2 = "postern-imapcache 2"
)

// maxCachedHeader bounds a header kept in the cache; larger ones are read
// from the file when needed.
const maxCachedHeader = 16 << 10

// stampSlack is how much older than the listing a directory's mtime must
// be for the listing to be trusted: mtimes come from a coarse clock, so a
// change just after a listing can leave the same mtime.
const stampSlack = 50 * time.Millisecond

type msgInfo struct {
	vsize  int64  // RFC822.SIZE: bytes with bare LF counted as CRLF
	mtime  int64  // INTERNALDATE, unix seconds
	hdr    []byte // the header (package postern/pkg/header) through its empty line if it has one, as in the file; nil: not known
	hdrBig bool   // the header is larger than maxCachedHeader: never kept
}

// snapshot is a folder's listing as a scan left it.
type snapshot struct {
	validity, next uint32
	db             fileStamp
	dirs           [2]int64 // mtimes of new/ and cur/
	listed         int64    // when the listing began, unix ns
	msgs           []*message
}

// trusted tells whether the directories were unchanged for a while before
// the listing, so that equal mtimes now mean an equal listing.
func (s *snapshot) trusted() bool {
	lim := s.listed - int64(stampSlack)
	return s.validity != 0 && s.dirs[0] != 0 && s.dirs[1] != 0 && s.dirs[0] < lim && s.dirs[1] < lim
}

type infoCache struct {
	folder string
	m      map[string]msgInfo
	dirty  int
	snap   *snapshot // as loaded (nil: none)
}

// fieldsInto splits a line at single spaces into f and returns how many
// fields there were (more than len(f): len(f)+1).
func fieldsInto(line []byte, f [][]byte) int {
	n := 0
	for {
		i := bytes.IndexByte(line, ' ')
		if n == len(f) {
			return n + 1
		}
		if i < 0 {
			f[n] = line
			return n + 1
		}
		f[n], line = line[:i], line[i+1:]
		n++
	}
}

func loadInfoCache(folder string) *infoCache {
	c := &infoCache{folder: folder, m: map[string]msgInfo{}}
	b, err := os.ReadFile(filepath.Join(folder, cacheFile))
	if err != nil {
		return c
	}
	line, b := nextLine(b)
	switch line {
	case cacheHeader1:
		c.load1(b)
	case cacheHeader2:
		c.load2(b)
	}
	return c
}

func nextLine(b []byte) (string, []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return string(b), nil
	}
	return string(b[:i]), b[i+1:]
}

// load1 reads the first format: "base vsize mtime" lines.
func (c *infoCache) load1(b []byte) {
	for len(b) > 0 {
		var line string
		line, b = nextLine(b)
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		v, err1 := strconv.ParseInt(f[1], 10, 64)
		t, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 == nil && err2 == nil && v >= 0 {
			c.m[f[0]] = msgInfo{vsize: v, mtime: t}
		}
	}
}

// load2 reads the second format:
//
//	snap VALIDITY NEXT DBINO DBSIZE DBMTIME NEWMTIME CURMTIME LISTED
//	UID n|c NAME VSIZE MTIME HDRLEN       (VSIZE -1: unknown; HDRLEN -1 unknown, -2 too big)
//	<HDRLEN bytes of header>
//
// The snap line is present only when the records are the folder's whole
// listing.
func (c *infoCache) load2(b []byte) {
	var snap *snapshot
	if bytes.HasPrefix(b, []byte("snap ")) {
		var line string
		line, b = nextLine(b)
		f := strings.Fields(line)
		var n [9]int64
		ok := len(f) == 10
		for i := 0; ok && i < 9; i++ {
			var err error
			n[i], err = strconv.ParseInt(f[i+1], 10, 64)
			ok = err == nil
		}
		if ok {
			snap = &snapshot{validity: uint32(n[0]), next: uint32(n[1]),
				db: fileStamp{ino: n[2], size: n[3], mtime: n[4]}, dirs: [2]int64{n[5], n[6]}, listed: n[7]}
		}
	}
	n := bytes.Count(b, []byte{'\n'}) // an upper bound on the records
	msgs := make([]message, 0, n)
	if snap != nil {
		snap.msgs = make([]*message, 0, n)
	}
	var f [6][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 || fieldsInto(b[:i], f[:]) != 6 {
			snap = nil
			break
		}
		b = b[i+1:]
		uid, err1 := strconv.ParseUint(string(f[0]), 10, 32)
		v, err2 := strconv.ParseInt(string(f[3]), 10, 64)
		t, err3 := strconv.ParseInt(string(f[4]), 10, 64)
		hl, err4 := strconv.Atoi(string(f[5]))
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || hl > len(b) {
			snap = nil
			break
		}
		in := msgInfo{vsize: v, mtime: t}
		switch {
		case hl >= 0:
			in.hdr = b[:hl:hl]
			b = b[hl:]
		case hl == -2:
			in.hdrBig = true
		}
		name := string(f[2])
		base := maildir.Base(name)
		if v >= 0 {
			c.m[base] = in
		}
		if snap != nil {
			_, letters, tail := maildir.SplitName(name)
			msgs = append(msgs, message{uid: imap.UID(uid), base: base, name: name,
				inNew: string(f[1]) == "n", letters: letters, tail: tail})
			snap.msgs = append(snap.msgs, &msgs[len(msgs)-1])
		}
	}
	if snap != nil {
		sort.Slice(snap.msgs, func(i, j int) bool { return snap.msgs[i].uid < snap.msgs[j].uid })
		c.snap = snap
	}
}

// saveCache writes the cache when something changed, with the folder's
// current listing; entries for files that are gone are dropped.
func (mb *mailbox) saveCache() {
	c := mb.cache
	if c == nil || c.dirty == 0 {
		return
	}
	var b bytes.Buffer
	b.Grow(len(mb.msgs) * 128)
	b.WriteString(cacheHeader2 + "\n")
	whole := mb.validity != 0
	for _, m := range mb.msgs {
		if strings.ContainsAny(m.name, " \n\r\t") {
			whole = false
		}
	}
	if whole {
		fresh := 0
		if mb.fresh {
			fresh = 1 // never trusted: see snapshot.trusted
		}
		b.WriteString("snap ")
		for _, n := range []int64{int64(mb.validity), int64(mb.next), mb.dbStat.ino, mb.dbStat.size, mb.dbStat.mtime,
			mb.dirStamp[0], mb.dirStamp[1], mb.listed * int64(1-fresh)} {
			b.WriteString(strconv.FormatInt(n, 10))
			b.WriteByte(' ')
		}
		b.WriteString("0\n")
	}
	for base := range c.m {
		if _, ok := mb.byBase[base]; !ok {
			delete(c.m, base)
		}
	}
	for _, m := range mb.msgs {
		if strings.ContainsAny(m.name, " \n\r\t") {
			continue
		}
		in, ok := c.m[m.base]
		if !ok {
			if !whole {
				continue
			}
			in.vsize = -1
		}
		b.WriteString(strconv.FormatUint(uint64(m.uid), 10))
		if m.inNew {
			b.WriteString(" n ")
		} else {
			b.WriteString(" c ")
		}
		b.WriteString(m.name)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(in.vsize, 10))
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(in.mtime, 10))
		b.WriteByte(' ')
		switch {
		case in.hdr != nil:
			b.WriteString(strconv.Itoa(len(in.hdr)))
			b.WriteByte('\n')
			b.Write(in.hdr)
		case in.hdrBig:
			b.WriteString("-2\n")
		default:
			b.WriteString("-1\n")
		}
	}
	if maildir.WriteFile(c.folder, cacheFile, b.Bytes()) == nil {
		c.dirty = 0
	}
}

// saveCacheIfLarge writes the cache once a command has added many
// entries, so a long session's work survives a crash.
func (mb *mailbox) saveCacheIfLarge() {
	if mb.cache != nil && mb.cache.dirty >= 1000 {
		mb.saveCache()
	}
}

func (c *infoCache) put(base string, in msgInfo) {
	c.m[base] = in
	c.dirty++
}

// info returns the message's size and date, from the cache or the file.
func (mb *mailbox) info(m *message) (msgInfo, error) {
	if in, ok := mb.cache.m[m.base]; ok {
		return in, nil
	}
	in, err := mb.readInfo(m)
	if err != nil {
		return msgInfo{}, err
	}
	mb.cache.put(m.base, in)
	return in, nil
}

// headerOf returns the message's header from the cache, reading the file
// once if need be; nil (and no error) when the header is too large to keep.
func (mb *mailbox) headerOf(m *message) ([]byte, error) {
	in, ok := mb.cache.m[m.base]
	if !ok || (in.hdr == nil && !in.hdrBig) {
		var err error
		if in, err = mb.readInfo(m); err != nil {
			return nil, err
		}
		mb.cache.put(m.base, in)
	}
	// The header only: a cache written before the header's end was found as
	// package header finds it may hold more.
	h, _, _ := header.End(in.hdr, true)
	return in.hdr[:h:h], nil
}

func (mb *mailbox) readInfo(m *message) (msgInfo, error) {
	f, err := mb.open(m)
	if err != nil {
		return msgInfo{}, err
	}
	defer f.Close()
	return readInfo(f, m.base)
}

// prefill reads, a few files at a time, the messages whose size or header
// (with hdr) is not cached yet: a folder's first FETCH or SEARCH then
// waits for the disk and both cores rather than one file after another.
func (mb *mailbox) prefill(msgs []*message, hdr bool) {
	var todo []*message
	for _, m := range msgs {
		if in, ok := mb.cache.m[m.base]; !ok || (hdr && in.hdr == nil && !in.hdrBig) {
			todo = append(todo, m)
		}
	}
	if len(todo) < 16 {
		return // the one-by-one path is as quick
	}
	res := make([]msgInfo, len(todo))
	ok := make([]bool, len(todo))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(todo) {
					return
				}
				if in, err := mb.readInfo(todo[i]); err == nil {
					res[i], ok[i] = in, true
				}
			}
		}()
	}
	wg.Wait()
	for i, m := range todo {
		if ok[i] {
			mb.cache.put(m.base, res[i])
		}
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// readInfo reads a message file once for its size as sent, date and
// header. With ",W=" in the name only the header is read.
func readInfo(f *os.File, base string) (msgInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return msgInfo{}, err
	}
	in := msgInfo{mtime: fi.ModTime().Unix()}
	w, haveW := maildir.VSizeFromName(base)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var head []byte // the start of the file while the header's end is not found
	inHdr, prevCR, capped := true, false, false
	for {
		k, err := io.ReadFull(f, buf)
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return msgInfo{}, err
		}
		chunk := buf[:k]
		if inHdr {
			take := min(len(chunk), max(maxCachedHeader+2-len(head), 0))
			head = append(head, chunk[:take]...)
			capped = capped || take < len(chunk)
			_, body, ok := header.End(head, eof && !capped)
			switch {
			case ok && body <= maxCachedHeader:
				in.hdr, inHdr = bytes.Clone(head[:body]), false
			case ok || len(head) > maxCachedHeader || eof:
				in.hdrBig, inHdr = true, false
			}
		}
		if !haveW {
			lf, crlf := bytes.Count(chunk, []byte{'\n'}), bytes.Count(chunk, []byte("\r\n"))
			if prevCR && k > 0 && chunk[0] == '\n' {
				crlf++
			}
			in.vsize += int64(k + lf - crlf)
			prevCR = k > 0 && chunk[k-1] == '\r'
		}
		if eof || (haveW && !inHdr) {
			break
		}
	}
	if haveW {
		in.vsize = w
	}
	return in, nil
}

// infoOf is readInfo for a file already read whole (raw, as stored).
func infoOf(raw []byte, crlfLen int, mtime int64) msgInfo {
	in := msgInfo{vsize: int64(crlfLen), mtime: mtime}
	if _, body, _ := header.End(raw, true); body <= maxCachedHeader {
		in.hdr = bytes.Clone(raw[:body])
	} else {
		in.hdrBig = true
	}
	return in
}

func (in msgInfo) date() time.Time { return time.Unix(in.mtime, 0) }
