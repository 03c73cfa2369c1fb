package table

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	pebble "github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage"
	"github.com/cockroachdb/pebble/v2/sstable"

	"postern/pkg/atomicfile"
	"postern/pkg/table/bdb"
)

// DBSuffix is appended to a hash: or btree: table's name to form the built file, as Postfix does.
const DBSuffix = ".db"

// StaleGrace is how long a source file must have been left alone before a newer source than
// .db draws the "older than source file" warning (Postfix: 100 s), so an edit in progress,
// followed at once by postmap, is not reported.
const StaleGrace = 100 * time.Second

// ErrBerkeleyDB marks a FILE.db that Postfix left in Berkeley DB format (package bdb).
var ErrBerkeleyDB = bdb.ErrBerkeleyDB

// BlockCacheSize is the per-process block cache shared by all open tables.
var BlockCacheSize int64 = 8 << 20

var (
	blockCacheOnce sync.Once
	sharedCache    *pebble.Cache
)

func blockCache() *pebble.Cache {
	blockCacheOnce.Do(func() { sharedCache = pebble.NewCache(BlockCacheSize) })
	return sharedCache
}

// fileID identifies one version of a file: a rebuild renames a new inode into place (the old
// inode cannot be reused while a reader still has it mapped), an in-place rewrite changes
// size, mtime or ctime.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

func idOf(fi fs.FileInfo) fileID {
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id = idOfStat(st)
	}
	return id
}

func idOfStat(st *syscall.Stat_t) fileID {
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
}

// statID is the identity of the file at path now: one stat(2), no allocation (it runs on
// every lookup, see DB.refresh).
func statID(path string) (fileID, error) {
	var st syscall.Stat_t
	for {
		err := syscall.Stat(path, &st)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fileID{}, err
		}
		return idOfStat(&st), nil
	}
}

// generation is one opened version of FILE.db: the file mapped read-only and an sstable
// reader over the mapping. Mapped pages are the kernel's page cache, shared by every process
// reading the table, and stay valid after a rebuild renames a new file over the name.
type generation struct {
	id   fileID
	data []byte
	r    *sstable.Reader

	mu    sync.Mutex
	iters []sstable.Iterator // idle iterators; an iterator is not safe for concurrent use

	ro         sstable.ReaderOptions // holds this generation's block cache handle
	results    sync.Map              // key -> cached result, valid for this generation only
	cacheCount atomic.Int32
}

type cached struct {
	value string
	found bool
}

// maxCache bounds the per-generation lookup cache.
const maxCache = 8192

func openGeneration(path string) (*generation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("table %s: is a directory, not a table built by postmap; run \"postmap %s\"",
			path, strings.TrimSuffix(path, DBSuffix))
	}
	head := make([]byte, bdb.HeadSize)
	n, _ := f.ReadAt(head, 0)
	if bdb.Is(head[:n]) {
		return nil, bdb.Problem(path, "")
	}
	if fi.Size() == 0 || fi.Size() > 1<<40 {
		return nil, fmt.Errorf("table %s: not a table built by postmap (size %d); run \"postmap %s\"",
			path, fi.Size(), strings.TrimSuffix(path, DBSuffix))
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", path, err)
	}
	g := &generation{id: idOf(fi), data: data}
	err = guardFault(func() error {
		var err error
		// A block cache keyed by this generation's own handle: blocks are reused across
		// lookups instead of copied out of the mapping each time.
		g.ro.CacheOpts.CacheHandle = blockCache().NewHandle()
		g.ro.CacheOpts.FileNum = 1
		g.r, err = sstable.NewMemReader(data, g.ro)
		return err
	})
	if err != nil {
		g.ro.CacheOpts.CacheHandle.Close()
		syscall.Munmap(data)
		return nil, fmt.Errorf("table %s: not a table built by postmap (%v); run \"postmap %s\"",
			path, err, strings.TrimSuffix(path, DBSuffix))
	}
	return g, nil
}

// guardFault turns a fault on the mapping (the file truncated under us by something other
// than postmap) into an error instead of a crash.
func guardFault(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = fmt.Errorf("table read fault: %v", r)
		}
	}()
	return fn()
}

func (g *generation) iter() (sstable.Iterator, error) {
	g.mu.Lock()
	if n := len(g.iters); n > 0 {
		it := g.iters[n-1]
		g.iters = g.iters[:n-1]
		g.mu.Unlock()
		return it, nil
	}
	g.mu.Unlock()
	return g.r.NewIter(sstable.NoTransforms, nil, nil, sstable.AssertNoBlobHandles)
}

func (g *generation) release(it sstable.Iterator) {
	g.mu.Lock()
	g.iters = append(g.iters, it)
	g.mu.Unlock()
}

func (g *generation) get(key string) (value string, found bool, err error) {
	if c, ok := g.results.Load(key); ok {
		c := c.(cached)
		return c.value, c.found, nil
	}
	value, found, err = g.get2(key)
	if err != nil {
		return "", false, err
	}
	if g.cacheCount.Load() < maxCache {
		g.cacheCount.Add(1)
		g.results.Store(key, cached{value, found})
	}
	return value, found, nil
}

// get2 is the uncached lookup.
func (g *generation) get2(key string) (value string, found bool, err error) {
	it, err := g.iter()
	if err != nil {
		return "", false, err
	}
	err = guardFault(func() error {
		kv := it.SeekGE([]byte(key), 0)
		if kv == nil || string(kv.K.UserKey) != key {
			return it.Error()
		}
		v, _, err := kv.Value(nil)
		if err != nil {
			return err
		}
		value, found = string(v), true
		return nil
	})
	g.release(it)
	return value, found, err
}

func (g *generation) walk(fn func(key, value string) error) error {
	it, err := g.r.NewIter(sstable.NoTransforms, nil, nil, sstable.AssertNoBlobHandles)
	if err != nil {
		return err
	}
	defer it.Close()
	var ferr error
	err = guardFault(func() error {
		for kv := it.First(); kv != nil; kv = it.Next() {
			v, _, err := kv.Value(nil)
			if err != nil {
				return err
			}
			if ferr = fn(string(kv.K.UserKey), string(v)); ferr != nil {
				return nil
			}
		}
		return it.Error()
	})
	if ferr != nil {
		return ferr
	}
	return err
}

func (g *generation) close() {
	for _, it := range g.iters {
		it.Close()
	}
	g.iters = nil
	g.r.Close()
	g.ro.CacheOpts.CacheHandle.EvictFile(1)
	g.ro.CacheOpts.CacheHandle.Close()
	syscall.Munmap(g.data)
	g.data = nil
}

// DB is an open hash: or btree: table: FILE.db built by postmap. Each lookup stats FILE.db and
// switches to a rebuilt file (a new file renamed over FILE.db) before answering; a lookup in
// progress finishes on the generation it started with.
type DB struct {
	typ, name string // as in type:name; name is the source file
	path      string // name + DBSuffix
	fold      bool

	mu     sync.RWMutex // write-held only to swap generations
	gen    *generation  // nil while the file cannot be opened (err says why)
	err    error
	tried  fileID     // the last version opened or tried, so a bad file is not retried per lookup
	reopen sync.Mutex // one reopen at a time
	now    func() time.Time
}

func openDB(typ, name string, o *Options) (*DB, error) {
	d := &DB{typ: typ, name: name, path: name + DBSuffix, fold: !o.NoFold, now: o.now()}
	g, err := openGeneration(d.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = pathError("open database", d.path, err)
		}
		return d, err
	}
	d.gen, d.tried = g, g.id
	if src, err := os.Stat(name); err == nil {
		db := g.id.mtime
		if src.ModTime().UnixNano() > db && d.now().Sub(src.ModTime()) > StaleGrace {
			o.warnf("database %s is older than source file %s", d.path, name)
		}
	}
	return d, nil
}

// String is the table's type:name.
func (d *DB) String() string { return d.typ + ":" + d.name }

// Path is the built file, FILE.db.
func (d *DB) Path() string { return d.path }

// Fold reports whether keys are lower-cased before lookup.
func (d *DB) Fold() bool { return d.fold }

// refresh reopens the table when FILE.db is a different file than the one in use. It stats
// the file on every lookup, so the first lookup after postmap or newaliases has returned
// sees the new table, always (a time-based check let a session that followed a rebuild at
// once answer from the old table). The stat costs about 0.3 µs; see doc.go.
func (d *DB) refresh() {
	id, err := statID(d.path)
	if err != nil {
		// A deleted table keeps answering from the generation in hand, as an open
		// Berkeley DB file would.
		return
	}
	d.mu.RLock()
	same := d.tried == id
	d.mu.RUnlock()
	if same {
		return
	}
	d.reopen.Lock()
	defer d.reopen.Unlock()
	d.mu.RLock()
	same = d.tried == id
	d.mu.RUnlock()
	if same {
		return // another goroutine reopened it meanwhile
	}
	g, err := openGeneration(d.path)
	d.mu.Lock()
	old := d.gen
	if err == nil {
		d.gen, d.err, d.tried = g, nil, g.id
	} else {
		// A bad new file (say, Berkeley DB put back) leaves the old generation answering.
		d.tried = id
		if old == nil {
			d.err = err
		}
	}
	d.mu.Unlock()
	if err == nil && old != nil {
		old.close()
	}
}

// Lookup implements Table.
func (d *DB) Lookup(key string) (string, bool, error) {
	if d.fold {
		key = strings.ToLower(key)
	}
	d.refresh()
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.gen == nil {
		return "", false, d.err
	}
	return d.gen.get(key)
}

// Walk implements Walker: every entry in key order.
func (d *DB) Walk(fn func(key, value string) error) error {
	d.refresh()
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.gen == nil {
		return d.err
	}
	return d.gen.walk(fn)
}

// Close releases the mapping.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gen != nil {
		d.gen.close()
		d.gen = nil
		d.err = errors.New("table closed")
	}
	return nil
}

// Owner returns the uid and gid owning FILE.db (local(8) runs alias commands as the table's
// owner).
func (d *DB) Owner() (uid, gid int, err error) {
	fi, err := os.Stat(d.path)
	if err != nil {
		return 0, 0, err
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid), nil
}

// WriteDB writes entries (keys unique; any order) to path atomically: a temporary file in the
// same directory is written, fsync'd and renamed over path, and the directory fsync'd, so a
// reader sees either the old table or the new one, never a half-built one. perm is the new
// file's mode; uid/gid >= 0 chown it.
func WriteDB(path string, keys []string, values map[string]string, perm fs.FileMode, uid, gid int) error {
	slices.Sort(keys)
	f, err := atomicfile.Create(path, atomicfile.Options{Mode: perm, Chown: uid >= 0 || gid >= 0, UID: uid, GID: gid})
	if err != nil {
		return err
	}
	defer f.Abort()
	fw := &fileWritable{w: bufio.NewWriterSize(f, 1<<20)}
	w := sstable.NewWriter(fw, sstable.WriterOptions{
		TableFormat:    sstable.TableFormatPebblev4,
		Compression:    sstable.SnappyCompression,
		IndexBlockSize: 4096,
		BlockSize:      4096,
		FilterPolicy:   nil,
	})
	for i, k := range keys {
		if i > 0 && keys[i-1] == k {
			continue
		}
		if err := w.Set([]byte(k), []byte(values[k])); err != nil {
			w.Close()
			return err
		}
	}
	if err := w.Close(); err != nil { // Finish: flush
		return err
	}
	return f.Commit()
}

// fileWritable is the objstorage.Writable pebble's sstable writer needs, over the new file;
// atomicfile's Commit syncs, closes and renames it.
type fileWritable struct {
	w   *bufio.Writer
	err error
}

var _ objstorage.Writable = (*fileWritable)(nil)

func (fw *fileWritable) Write(p []byte) error {
	if fw.err == nil {
		_, fw.err = fw.w.Write(p)
	}
	return fw.err
}

func (fw *fileWritable) Finish() error {
	if fw.err == nil {
		fw.err = fw.w.Flush()
	}
	return fw.err
}

func (fw *fileWritable) Abort() {}

// ReadDB loads every entry of a built table (for postmap -i and -d, which rewrite the whole
// immutable file).
func ReadDB(path string) (keys []string, values map[string]string, err error) {
	g, err := openGeneration(path)
	if err != nil {
		return nil, nil, err
	}
	defer g.close()
	values = map[string]string{}
	err = g.walk(func(k, v string) error {
		keys = append(keys, k)
		values[k] = v
		return nil
	})
	return keys, values, err
}

var _ = bytes.Equal
var _ = context.Background
var _ = strconv.Itoa

func fileOwner(path string) (uid, gid int, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid), nil
}
