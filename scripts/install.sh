#!/bin/sh
# make install: put Postern where Debian's postfix package puts Postfix.
#
# Environment (set by the Makefile): DESTDIR (empty for the real root),
# BIN (directory of the built programs), COMMANDS and DAEMONS (program
# names), SRC (repository root).
#
# Every file, link and directory created is recorded in
# $DESTDIR/var/lib/postern/manifest so that make uninstall
# (scripts/uninstall.sh) removes exactly those. A file that was already
# there and is not Postern's (Postfix's sendmail, say) is moved to
# /var/lib/postern/saved/PATH first and put back by uninstall.
#
# With DESTDIR (a scratch root for packaging or tests) no user or group is
# created and files are given to postfix/postdrop only when those exist on
# this machine and we are root; modes, set-gid bits included, are always
# set. Without DESTDIR the script must run as root.
#
# Manifest lines, in the order things were done:
#   d PATH          directory created (removed by uninstall when empty)
#   f PATH          file installed
#   l PATH          symbolic link installed
#   c PATH SUM      configuration file created because there was none;
#                   SUM is its sha256, removed by uninstall only if unchanged
#   s PATH          the previous PATH was saved under /var/lib/postern/saved
#   a PATH          lines appended to an existing master.cf (they are kept in
#                   /var/lib/postern/master.cf.added)
#   t PATH CMD MAP  lookup table PATH (FILE.db) built by Postern's CMD
#                   (postmap or postalias) from MAP (type:source) where there
#                   was none: uninstall removes it and runs Postfix's CMD MAP
#                   when that is back (a replaced Postfix FILE.db is an "s")
#   m PATH CMD MAP  Postfix's table PATH (saved, "s") was rebuilt by Postern:
#                   uninstall puts it back and, if MAP's source changed since,
#                   runs Postfix's CMD MAP
#   u NAME, g NAME  user or group created (uninstall keeps them)
set -eu
umask 022

D=${DESTDIR:-}
BIN=${BIN:-bin}
SRC=${SRC:-.}
COMMAND_DIR=/usr/sbin
DAEMON_DIR=/usr/lib/postfix/sbin
CONFIG_DIR=/etc/postfix
QUEUE_DIR=/var/spool/postfix
DATA_DIR=/var/lib/postfix
STATE=/var/lib/postern
SAMPLE_DIR=/usr/share/postern
UNIT_DIR=/etc/systemd/system
MAIL_OWNER=postfix
SETGID_GROUP=postdrop

say() { echo "make install: $*"; }
die() { echo "make install: $*" >&2; exit 1; }

root=no
[ "$(id -u)" = 0 ] && root=yes
[ -n "$D" ] || [ $root = yes ] || die "run as root (or give DESTDIR=/scratch/root)"
case "$D" in ""|/*) ;; *) die "DESTDIR must be an absolute path: $D" ;; esac
[ "$D" = / ] && D=
# A DESTDIR that does not exist yet is made here (and left by uninstall):
# mkd below only makes what lies under it.
[ -z "$D" ] || mkdir -p "$D" || die "cannot create DESTDIR $D"

# The manifest is built in a temporary file (the state directory may not
# exist yet) and written out even when a step fails, so that a partial
# install can still be uninstalled.
TMP=$(mktemp)
if [ -f "$D$STATE/manifest" ]; then cp "$D$STATE/manifest" "$TMP"; fi
finish() {
	rc=$?
	if [ -d "$D$STATE" ]; then
		cp "$TMP" "$D$STATE/manifest" && chmod 0600 "$D$STATE/manifest"
	fi
	rm -f "$TMP" "$TMP.tables" "$TMP.new"
	[ $rc = 0 ] || echo "make install: failed; what was done is in $D$STATE/manifest" >&2
	exit $rc
}
trap finish EXIT

# recorded TYPE PATH: has the manifest this entry already?
recorded() { awk -v t="$1" -v p="$2" '$1 == t && $2 == p { f = 1 } END { exit !f }' "$TMP"; }
record() { recorded "$1" "$2" || echo "$*" >>"$TMP"; }
# ours PATH: did a Postern install put PATH there?
ours() { recorded f "$1" || recorded l "$1" || recorded c "$1"; }

# own USER[:GROUP] PATH gives PATH away when we may: as root, and (under
# DESTDIR) only to ids this machine has. chown comes before chmod because
# it clears set-gid bits.
own() {
	[ $root = yes ] || return 0
	u=${1%%:*}
	g=
	case "$1" in *:*) g=${1#*:} ;; esac
	if ! getent passwd "$u" >/dev/null || { [ -n "$g" ] && ! getent group "$g" >/dev/null; }; then
		say "not giving $2 to $1 (no such user or group here)"
		return 0
	fi
	chown -h "$1" "$D$2"
}

# mkd PATH MODE [OWNER]: make a directory (and missing parents, 0755 root)
# and, when MODE is given, set its owner and mode whether or not it existed.
mkd() {
	local p="$1" mode="${2:-}" owner="${3:-}"
	if [ ! -d "$D$p" ]; then
		# "/" is $D itself, made above: if it is not a directory, stop
		# rather than recurse on dirname / = /.
		case $p in /* ) ;; *) die "mkd: not an absolute path: $p" ;; esac
		[ "$p" != / ] || die "$D/ is not a directory"
		[ -d "$D$(dirname "$p")" ] || mkd "$(dirname "$p")"
		mkdir "$D$p"
		chmod 0755 "$D$p"
		record d "$p"
	fi
	[ -n "$owner" ] && own "$owner" "$p"
	[ -n "$mode" ] && chmod "$mode" "$D$p"
	return 0
}

# save PATH moves a file that is not ours out of the way.
save() {
	if [ -e "$D$1" ] || [ -L "$D$1" ]; then
		ours "$1" && { rm -f "$D$1"; return 0; }
		recorded s "$1" && { rm -f "$D$1"; return 0; }
		mkd "$STATE/saved$(dirname "$1")"
		mv "$D$1" "$D$STATE/saved$1"
		record s "$1"
		say "saved the previous $1 in $STATE/saved$1"
	fi
}

# put SRCFILE PATH MODE [OWNER]
put() {
	mkd "$(dirname "$2")"
	save "$2"
	cp "$1" "$D$2.postern-new"
	[ -n "${4:-}" ] && own "$4" "$2.postern-new"
	chmod "$3" "$D$2.postern-new"
	mv "$D$2.postern-new" "$D$2"
	record f "$2"
}

# lnk TARGET PATH
lnk() {
	mkd "$(dirname "$2")"
	save "$2"
	ln -s "$1" "$D$2"
	record l "$2"
}

# The state directory first: it holds the manifest and saved files.
mkd "$STATE" 0700

# Users and groups, only on the real root (Debian's postfix.postinst does
# the same with adduser).
if [ -z "$D" ]; then
	if ! getent group "$SETGID_GROUP" >/dev/null; then
		groupadd --system "$SETGID_GROUP"
		record g "$SETGID_GROUP"
	fi
	if ! getent passwd "$MAIL_OWNER" >/dev/null; then
		useradd --system --user-group --no-create-home --home-dir "$QUEUE_DIR" \
			--shell /usr/sbin/nologin --comment "Postfix MTA" "$MAIL_OWNER"
		record u "$MAIL_OWNER"
	fi
fi

# Commands where Postfix's are; postdrop and postqueue set-gid postdrop.
for p in $COMMANDS; do
	case $p in
	postdrop | postqueue) put "$BIN/$p" "$COMMAND_DIR/$p" 2755 "root:$SETGID_GROUP" ;;
	*) put "$BIN/$p" "$COMMAND_DIR/$p" 0755 root:root ;;
	esac
done
for p in $DAEMONS; do
	put "$BIN/$p" "$DAEMON_DIR/$p" 0755 root:root
done
if [ -f "$BIN/sendmail" ]; then
	lnk ../sbin/sendmail /usr/bin/newaliases
	lnk ../sbin/sendmail /usr/bin/mailq
	lnk ../sbin/sendmail /usr/lib/sendmail
fi

# The queue, with Postfix's owners and modes (postfix-files; group "-" there
# means the group stays root's).
mkd "$QUEUE_DIR" 0755 root:root
for d in incoming active deferred hold corrupt bounce defer trace flush private saved; do
	mkd "$QUEUE_DIR/$d" 0700 "$MAIL_OWNER"
done
mkd "$QUEUE_DIR/maildrop" 1730 "$MAIL_OWNER:$SETGID_GROUP"
mkd "$QUEUE_DIR/public" 2710 "$MAIL_OWNER:$SETGID_GROUP"
mkd "$QUEUE_DIR/pid" 0755 root:root
# data_directory: postfix-files says 0700, but Debian's package ships it 0755
# and Postfix's create-missing leaves an existing one as it is; so does
# install (uninstall could not give the old mode back).
[ -d "$D$DATA_DIR" ] || mkd "$DATA_DIR" 0700 "$MAIL_OWNER"

# Configuration: written only when absent; the shipped copies go to
# $SAMPLE_DIR as Debian keeps main.cf.dist.
mkd "$CONFIG_DIR" 0755
put "$SRC/conf/main.cf" "$SAMPLE_DIR/main.cf.dist" 0644
put "$SRC/conf/master.cf" "$SAMPLE_DIR/master.cf.dist" 0644
for f in main.cf master.cf; do
	if [ ! -e "$D$CONFIG_DIR/$f" ]; then
		cp "$SRC/conf/$f" "$D$CONFIG_DIR/$f"
		chmod 0644 "$D$CONFIG_DIR/$f"
		record c "$CONFIG_DIR/$f" "$(sha256sum <"$D$CONFIG_DIR/$f" | cut -d' ' -f1)"
		say "wrote $CONFIG_DIR/$f"
	elif [ $f = master.cf ]; then
		# Installing Postern enables POP3 and IMAP as installing
		# courier-pop and courier-imap did: the service entries after the
		# marker in conf/master.cf are added when their name/type is missing.
		add=$(mktemp)
		awk -v existing="$D$CONFIG_DIR/master.cf" '
			BEGIN {
				while ((getline line < existing) > 0) {
					if (line ~ /^[^# \t]/) { split(line, w); have[w[1] "/" w[2]] = 1 }
				}
			}
			/^# Postern.s Courier replacement/ { on = 1; next }
			!on || /^#/ { next }
			/^[^ \t]/ { split($0, w); take = !have[w[1] "/" w[2]] }
			take { print }
		' "$SRC/conf/master.cf" >"$add"
		if [ -s "$add" ]; then
			{
				echo "# Added by Postern's make install (make uninstall removes these lines)."
				cat "$add"
			} >"$D$STATE/master.cf.added.new"
			# A second install adds nothing, so one file of added lines is enough.
			mv "$D$STATE/master.cf.added.new" "$D$STATE/master.cf.added"
			cat "$D$STATE/master.cf.added" >>"$D$CONFIG_DIR/master.cf"
			record a "$CONFIG_DIR/master.cf"
			say "added to $CONFIG_DIR/master.cf: $(awk '/^[^# \t]/ { printf "%s%s", s, $1; s = " " }' "$add")"
		fi
		rm -f "$add"
	fi
done

# Start and stop: the systemd unit and Debian's /etc/init.d/postfix, which
# the howto uses for restart.
put "$SRC/init/postern.service" "$UNIT_DIR/postern.service" 0644
put "$SRC/init/postfix.init" /etc/init.d/postfix 0755

# Lookup tables. Postfix's hash: and btree: files (FILE.db) are Berkeley DB,
# which Postern does not read: every such table named in main.cf or in a
# master.cf -o option (values expanded by Postern's own postconf) is rebuilt
# from its source file with Postern's postmap, or postalias for alias_maps and
# alias_database, after the Postfix file is saved for uninstall to put back
# byte for byte. A table that had no FILE.db yet is built too ("t" in the
# manifest: uninstall removes it and rebuilds it with the restored Postfix
# postmap). A Berkeley DB file without its source is left alone and named;
# postfix check reports it. Cache databases (smtp_scache.db, ...) are not
# tables and are left to Postfix.

# is_bdb FILE: a Berkeley DB magic number (hash 0x00061561, btree 0x00053162)
# at offset 12 (DB 2.x and later) or 0 (DB 1.85), in either byte order, as
# pkg/table's isBerkeleyDB checks.
is_bdb() {
	h=$(od -An -tx1 -N16 "$1" 2>/dev/null | tr -d ' \n')
	for m in 00061561 61150600 00053162 62310500; do
		case $h in "$m"* | ????????????????????????"$m"*) return 0 ;; esac
	done
	return 1
}

# tables: "COMMAND TYPE PATH" for each hash:/btree: table named in the
# configuration, PATH without $D; COMMAND is postalias for alias tables.
tables() {
	{
		"$BIN/postconf" -c "$D$CONFIG_DIR" -n -x
		"$BIN/postconf" -c "$D$CONFIG_DIR" -x alias_maps alias_database
		"$BIN/postconf" -c "$D$CONFIG_DIR" -P -x
	} 2>/dev/null | awk -v D="$D" '
		{
			name = $1; sub(/.*\//, "", name)
			# Caches the daemons write (pkg/config IsCacheMap): no source file.
			if (name ~ /^(smtp|smtpd|lmtp)_tls_session_cache_database$|^(address_verify|postscreen_cache)_map$|^(smtp|lmtp)_sasl_auth_cache_name$/) next
			cmd = (name == "alias_maps" || name == "alias_database") ? "postalias" : "postmap"
			v = $0; sub(/^[^=]*= ?/, "", v)
			while (match(v, /(hash|btree):\/[^ \t,{}]+/)) {
				t = substr(v, RSTART, RLENGTH); v = substr(v, RSTART + RLENGTH)
				typ = t; sub(/:.*/, "", typ); sub(/^[a-z]+:/, "", t)
				if (D != "" && index(t, D "/") == 1) t = substr(t, length(D) + 1)
				if (!seen[t]++) print cmd, typ, t
			}
		}'
}

tables >"$TMP.tables" || true
while read -r cmd typ t; do
	db="$t.db"
	ours "$db" && continue
	recorded t "$db" && continue
	if [ -e "$D$db" ] && ! is_bdb "$D$db"; then
		continue # Postern's already (made by its postmap), or not a file Postfix made
	fi
	if [ ! -f "$D$t" ]; then
		[ -e "$D$db" ] && say "warning: $db is Postfix's (Berkeley DB) and its source $t is missing: not migrated; postfix check tells what to do"
		continue
	fi
	if [ -e "$D$db" ]; then
		save "$db"
		if "$BIN/$cmd" -c "$D$CONFIG_DIR" "$typ:$D$t"; then
			record f "$db"
			record m "$db" "$cmd" "$typ:$t"
			say "migrated $db: rebuilt from $t with Postern's $cmd (Postfix's file saved in $STATE/saved$db)"
		else
			# Without a table Postern would defer every lookup: put Postfix's back.
			mv "$D$STATE/saved$db" "$D$db"
			awk -v p="$db" '!($1 == "s" && $2 == p)' "$TMP" >"$TMP.new" && mv "$TMP.new" "$TMP"
			say "warning: $cmd $t failed; $db left as Postfix made it (postfix check reports it)"
		fi
	elif "$BIN/$cmd" -c "$D$CONFIG_DIR" "$typ:$D$t"; then
		record t "$db" "$cmd" "$typ:$t"
		say "built $db from $t with Postern's $cmd (there was none)"
	else
		say "warning: $cmd $t failed"
	fi
done <"$TMP.tables"
rm -f "$TMP.tables"

if [ -z "$D" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
say "done; files are listed in $D$STATE/manifest"
[ -z "$D" ] && say "start with: postfix start   (or /etc/init.d/postfix start, or systemctl enable --now postern)"
exit 0
