#!/bin/bash
# make run: the whole suite, unprivileged, in the foreground, configured
# under ./run (config in ./run/etc, queue ./run/spool, mail ./run/mail,
# log ./run/maillog). Ctrl-C stops master and every child.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="$PWD/run"

./bin/postern-bench -setup "$RUN" -smtp 2525 -submission 2587 -pop3 2110 -imap 2143
read -r USER_NAME DEMO_PW < "$RUN/demo"

have() { [ -x "bin/$1" ]; }
echo "Postern is starting with configuration $RUN/etc (log: $RUN/maillog)"
echo "  SMTP        127.0.0.1:2525"
have smtpd && echo "  submission  127.0.0.1:2587"
have pop3d && echo "  POP3        127.0.0.1:2110" || echo "  POP3        (pop3d not built yet)"
have imapd && echo "  IMAP        127.0.0.1:2143" || echo "  IMAP        (imapd not built yet)"
echo
echo "Demo user: $USER_NAME, password $DEMO_PW (POP3/IMAP)."
echo "Mail for $USER_NAME@localhost lands in the Maildir $RUN/mail/$USER_NAME/."
echo
echo "Send a first message from another terminal:"
echo "  swaks --server localhost:2525 --to $USER_NAME@localhost"
echo "  printf 'EHLO me\r\nMAIL FROM:<me@example.org>\r\nRCPT TO:<$USER_NAME@localhost>\r\nDATA\r\nSubject: hi\r\n\r\nhello\r\n.\r\nQUIT\r\n' | nc localhost 2525"
echo "then read it:  curl -s --user $USER_NAME:$DEMO_PW pop3://127.0.0.1:2110/1"
echo "          or:  curl -s --user $USER_NAME:$DEMO_PW 'imap://127.0.0.1:2143/INBOX;UID=1'"
echo "and the log:   tail -f $RUN/maillog"
echo "Ctrl-C stops everything."
echo
exec ./bin/master -d -c "$RUN/etc"
