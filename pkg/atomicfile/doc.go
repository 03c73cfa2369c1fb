// Package atomicfile replaces a file as a whole: the new contents go to a
// temporary file in the same file system, which gets its mode and owner,
// is fsync'd, renamed over the old name and the directory fsync'd. A
// reader sees the old file or the new one, never a part; when writing
// fails midway the old file is untouched and the temporary file removed.
//
// Users: postconf (main.cf and master.cf edits), pkg/table (FILE.db as
// postmap and postalias build it) and pkg/maildir (courierpop3dsizelist,
// the Maildir++ UID map and subscriptions, imapd's per-folder cache),
// which keeps its temporary files in the Maildir's tmp/ and, as Courier,
// does not fsync what it can rebuild.
package atomicfile
