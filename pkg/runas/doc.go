// Package runas owns acting as a user: every piece of Postern that reads,
// writes or runs something with a user's rights goes through it.
//
// A root Go program cannot change the credentials of one goroutine
// (setuid(2) applies to every thread), so there are three tools:
//
//   - Open and Stat check access as the user on the calling thread alone
//     (setfsuid, setfsgid, setgroups, which change one thread): local
//     opens .forward and :include: files this way, as Postfix's open_as.
//     Only the open or stat runs as the user; the descriptor is read as
//     root.
//   - Threads runs a function on a thread of the process that is the
//     user for good: the same per-thread file-system identity, and no
//     capabilities at all on that thread (capset), so that it writes with
//     exactly the user's rights, quotas included. One goroutine per
//     identity, locked to its thread and never unlocked: the thread ends
//     with it. local writes Maildir files this way.
//   - Everything else runs in a process started with the user's
//     credentials (Command, Start): uid, gid, no supplementary groups.
//     Pool keeps one such process per identity (start on first use,
//     idle exit, LRU bound, one-off servers beyond the bound, retirement
//     on failure) and speaks a request/reply protocol over a
//     SOCK_SEQPACKET pair, each request with one descriptor attached
//     (SCM_RIGHTS); Serve is the server's side. local's delivery helpers
//     (mbox files and commands: a job and its queue file) and imapd's
//     session servers (a session's parameters and its connection, through
//     pkg/handoff) are Pools; pop3d's per-login session process and
//     local's commands are Commands.
//
// Why Maildir writes run on a thread and mbox writes and commands in a
// helper process: see local/doc.go, "Security".
package runas
