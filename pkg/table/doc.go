// Package table implements Postfix lookup tables, opened from "type:name" (Open, OpenList).
//
// # Types
//
//	hash:FILE, btree:FILE   FILE.db, built by postmap/postalias (below); both names open the
//	                        same format (keys are kept sorted, so btree's ordering holds too)
//	texthash:FILE           the postmap source file, read into memory
//	inline:{ k=v, { k = v with spaces } }
//	static:value, static:{ value with spaces }
//	regexp:FILE, pcre:FILE  regexp_table(5)/pcre_table(5), compiled to Go's RE2 (see ParseRegexp)
//	cidr:FILE               cidr_table(5)
//	unix:passwd.byname      the passwd line of a login; unix:group.byname likewise
//
// "proxy:" is stripped (there is no proxymap; tables are opened in-process). Other types (nis:,
// ldap:, lmdb:, cdb:, ...) fail with ErrUnsupported; OpenList reports them through
// Options.Warnf and skips them, as a Debian alias_maps = hash:/etc/aliases, nis:mail.aliases
// needs.
//
// Keys of fixed-string types are folded to lower case when built and when looked up, unless
// Options.NoFold (postmap -f). Lookup errors are distinct from "not found": a caller must
// defer the mail, never bounce it, on an error.
//
// # The FILE.db format, and why
//
// FILE.db is a single pebble sstable file (github.com/cockroachdb/pebble/v2/sstable, v2.1.7):
// keys sorted, 4 KiB Snappy blocks, a two-level index. It is Postern's own format; a FILE.db
// in Berkeley DB format (magic 0x00061561 hash or 0x00053162 btree at offset 12 or 0, either
// byte order; package bdb) is refused with "table FILE.db was made by Postfix (Berkeley DB); run
// "postmap FILE" (or newaliases) to rebuild it" or, when FILE is gone too, with the way to get
// its entries back (db_dump -p), and anything else that is not an sstable likewise. make
// install migrates such files and postfix check reports those left.
//
// A full pebble DB was considered and rejected. A pebble DB is a directory and pebble.Open
// takes an exclusive fcntl lock on DIR/LOCK even read-only, so two daemons could not read
// /etc/aliases.db at once without a no-op lock VFS, symlinked generation directories and care
// to open the resolved path. A single sstable needs none of that: it is immutable, readable by
// any number of processes without locks, and replaced atomically with rename(2) like any file
// (WriteDB: temporary file in the same directory, fsync, chmod/chown, rename, fsync of the
// directory). postmap -i and -d rewrite the whole file the same way; tables are small enough.
//
// Readers map the file read-only (MAP_SHARED: all processes share the page cache) and read it
// through sstable.NewMemReader with a per-process pebble block cache (BlockCacheSize, 8 MiB).
// A mapping stays valid after a rebuild renames a new file over the name, so a lookup in
// progress always completes on a whole table. Every lookup stats FILE.db (one stat(2), no
// allocation); a new inode, size, mtime or ctime opens the new generation, swaps it in under
// a write lock and unmaps the old one. So the first lookup after postmap or newaliases has
// returned answers from the new table, every time, in every daemon (smtpd, cleanup, local,
// qmgr), with no restart and no failed lookup (TestRebuildSeenAtOnce: 200 rebuilds each
// followed at once by a lookup of the new key; TestRebuildWhileReading: 20 rebuilds under 4
// reader goroutines). An earlier check at most once a second let the session that followed
// a rebuild at once see the old table (issue 9). Postfix stats its tables after each
// session and restarts the daemon; a stat per lookup is the same cost order (a few lookups
// per recipient) and needs no cooperation from the daemons. A table whose FILE.db is
// missing or in Berkeley DB format when a daemon starts keeps failing its lookups with that
// error until it is rebuilt, then recovers on its own; a bad file put over a good one leaves
// the good generation answering. Results are cached per generation (up to 8192 keys), so
// the cache lives only as long as the file is unchanged. A fault on the mapping (someone
// truncating FILE.db in place) becomes a lookup error, not a crash (debug.SetPanicOnFault).
//
// When opened, a FILE.db older than its source draws "database FILE.db is older than source
// file FILE" through Options.Warnf, only if the source was last changed more than StaleGrace
// (100 s) ago, as Postfix; the stale table is still used.
//
// texthash:, regexp: and cidr: files are reloaded the same way when they change (Postfix would
// need a process restart; reloading is strictly more convenient and keeps the old rules if
// the new file cannot be read).
//
// # Measured (2 vCPU shared VM, go test -bench, CGO_ENABLED=0)
//
//	build 1,000,000 entries (parse + sort + write), BenchmarkBuild1M
//	  with TABLE_BENCH_N=1000000:                          2.5 s, 11.5 MB FILE.db
//	  the postmap binary on a 36.7 MB source:             5.2 s wall (3.0 s user) under load 6
//	build 100,000 entries (the benchmark default):         0.16 s
//	lookup, 100,000-entry table, BenchmarkLookup:
//	  repeated key (result cache):                         0.11 µs, plus the stat below
//	  uncached present key (block cache):                  0.76 µs
//	  uncached absent key:                                 0.37 µs
//	  the stat(2) every lookup adds (one system call):     6-8 µs measured under load 16,
//	                                                       where getppid(2) alone took 5 µs
//	without the block cache (blocks copied out of the mapping per lookup): 9-18 µs; Snappy
//	vs no compression: same speed with the cache, 11.5 MB vs 39 MB on disk.
//
// Linking pebble's sstable package makes a binary about 22 MB larger (postmap: 24 MB). With
// cgo enabled pebble would compile DataDog/zstd (C); build with CGO_ENABLED=0 or -tags
// pebblegozstd.
//
// # Source files
//
// ReadLogical, ParseSource, SplitKeyValue and Builder implement postmap's source syntax and
// duplicate rules; BuildFile writes a table file from a source; package postern/pkg/mkmap is
// the engine of postmap, postalias and newaliases.
package table
