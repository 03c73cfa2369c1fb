// Package runas owns acting as a user: every piece of Postern that reads,
// writes or runs something with a user's rights goes through it.
//
// A root Go program cannot change the credentials of one goroutine
// (setuid(2) applies to every thread), so there are two tools:
//
//   - Open and Stat check access as the user on the calling thread alone
//     (setfsuid, setfsgid, setgroups, which change one thread): local
//     opens .forward and :include: files this way, as Postfix's open_as.
//     Only the open or stat runs as the user; the descriptor is read as
//     root.
//   - Everything else runs in a process started with the user's
//     credentials (Command, Start): uid, gid, no supplementary groups.
//     Pool keeps one such process per identity (start on first use,
//     idle exit, LRU bound, one-off servers beyond the bound, retirement
//     on failure) and speaks a request/reply protocol over a
//     SOCK_SEQPACKET pair, each request with one descriptor attached
//     (SCM_RIGHTS); Serve is the server's side. local's delivery helpers
//     (a job and its queue file) and imapd's session servers (a session's
//     parameters and its connection, through pkg/handoff) are Pools;
//     pop3d's per-login session process and local's commands are
//     Commands.
//
// Why local's mailbox writes stay in a helper process rather than on a
// thread running as the user (setfsuid, as Open): see local/doc.go,
// "Security".
package runas
