#!/bin/sh
# make uninstall: undo scripts/install.sh from its manifest,
# $DESTDIR/var/lib/postern/manifest, in reverse order.
#
# Removed: every file and link installed; configuration files that install
# wrote because there were none, unless they were changed since (then they
# are kept and named; PURGE=1 removes them anyway); the lines added to an
# existing master.cf; directories created, when empty. Files that were
# there before install (saved under /var/lib/postern/saved) are put back:
# Postfix's Berkeley DB tables that install migrated among them, byte for
# byte; a table install built where there was none is removed and rebuilt
# with Postfix's postmap or postalias when Postfix is back.
# Sockets and the pid file master leaves in the queue, master.lock and the
# queue's pool/ of recycled files are removed; queued mail is not, so a queue directory that holds mail stays
# and is named. The postfix user and postdrop group stay (files may still
# belong to them; Debian's postfix package keeps them too).
set -eu

D=${DESTDIR:-}
[ "$D" = / ] && D=
STATE=/var/lib/postern
M="$D$STATE/manifest"
PURGE=${PURGE:-}

say() { echo "make uninstall: $*"; }
die() { echo "make uninstall: $*" >&2; exit 1; }

[ -n "$D" ] || [ "$(id -u)" = 0 ] || die "run as root"
[ -f "$M" ] || die "no $M: Postern is not installed here"
if [ -z "$D" ] && [ -x /usr/sbin/postfix ] && /usr/sbin/postfix status >/dev/null 2>&1; then
	die "the mail system is running; stop it first (postfix stop)"
fi

list=$(mktemp)
tables=$(mktemp)
tac "$M" >"$list"
trap 'rm -f "$list" "$tables"' EXIT

# Runtime leftovers of a Postern-created queue: sockets, the pid file.
if awk '$1 == "d" && $2 == "/var/spool/postfix" { f = 1 } END { exit !f }' "$list"; then
	find "$D/var/spool/postfix/public" "$D/var/spool/postfix/private" -maxdepth 1 \( -type s -o -type p \) -delete 2>/dev/null || true
	rm -f "$D/var/spool/postfix/pid/master.pid"
fi
# pool/ is Postern's own (pkg/queue recycles finished queue files there, empty; never mail)
# and Postfix has no such directory: it goes whoever made the queue directory.
rm -rf "$D/var/spool/postfix/pool"
if awk '$1 == "d" && $2 == "/var/lib/postfix" { f = 1 } END { exit !f }' "$list"; then
	rm -f "$D/var/lib/postfix/master.lock"
fi

# Files, links, configuration and master.cf lines, newest first; then the
# saved originals go back (an s line precedes the f line that replaced it,
# so in reverse it comes after).
while read -r type path sum; do
	case $type in
	f | l) rm -f "$D$path" ;;
	t)
		# A table Postern built where there was none: Postfix's own
		# command rebuilds it below, once that is back.
		rm -f "$D$path"
		echo "t $sum" >>"$tables"
		;;
	m) echo "m $sum" >>"$tables" ;; # restored by its "s" line; rebuilt below if stale
	c)
		if [ ! -e "$D$path" ]; then
			:
		elif [ -n "$PURGE" ] || [ "$(sha256sum <"$D$path" | cut -d' ' -f1)" = "$sum" ]; then
			rm -f "$D$path"
		else
			say "keeping $path: changed since make install wrote it (PURGE=1 removes it)"
		fi
		;;
	a)
		added="$D$STATE/master.cf.added"
		if [ -f "$added" ] && [ -f "$D$path" ]; then
			# Drop each added line once, wherever it is now.
			awk -v added="$added" '
				BEGIN { while ((getline l < added) > 0) n[l]++ }
				n[$0] > 0 { n[$0]--; next }
				{ print }
			' "$D$path" >"$D$path.postern-new"
			chmod --reference="$D$path" "$D$path.postern-new"
			chown --reference="$D$path" "$D$path.postern-new" 2>/dev/null || true
			mv "$D$path.postern-new" "$D$path"
		fi
		;;
	s)
		if [ -e "$D$STATE/saved$path" ] || [ -L "$D$STATE/saved$path" ]; then
			mv "$D$STATE/saved$path" "$D$path"
			say "restored the previous $path"
		fi
		;;
	u) say "keeping user $path (files may still belong to it; userdel $path removes it)" ;;
	g) say "keeping group $path (groupdel $path removes it)" ;;
	esac
done <"$list"

# Lookup tables install built where there were none ("t CMD TYPE:FILE") are
# rebuilt with Postfix's postmap or postalias, now back; so are the Postfix
# tables put back ("m") whose source was changed since (newaliases, postmap
# run under Postern), which Postfix would otherwise use stale.
while read -r kind cmd map; do
	src=${map#*:}
	if [ $kind = m ] && ! [ "$D$src" -nt "$D$src.db" ]; then
		continue
	fi
	if [ -z "$D" ] && [ -x "/usr/sbin/$cmd" ] && [ -f "$src" ] && "/usr/sbin/$cmd" "$map"; then
		say "rebuilt $src.db with Postfix's $cmd"
	elif [ $kind = t ]; then
		say "removed $src.db (Postern's); Postfix needs \"$cmd $map\""
	else
		say "$src changed since make install: Postfix needs \"$cmd $map\""
	fi
done <"$tables"

# The state itself, then the directories install created, deepest first.
rm -f "$M" "$D$STATE/master.cf.added"
if [ -d "$D$STATE/saved" ]; then
	find "$D$STATE/saved" -depth -type d -empty -delete
fi
while read -r type path sum; do
	[ "$type" = d ] || continue
	[ -d "$D$path" ] || continue
	rmdir "$D$path" 2>/dev/null || say "keeping $path: not empty"
done <"$list"

if [ -z "$D" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
say "done"
