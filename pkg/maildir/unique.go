package maildir

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Unique names, one scheme for every file Postern makes in a Maildir (the
// Maildir spec's "modern" form, as Courier and Dovecot write it):
//
//	SEC.M<usec>P<pid>Q<n>.HOST[,S=<size>,W=<size with CRLF>]
//
// n counts the names this process made, so concurrent deliveries and
// APPENDs in one process never collide within a microsecond. Deliver's
// final name in new/ is Postfix's variant of the same form (see doc.go).

var (
	pid     = strconv.Itoa(os.Getpid())
	counter atomic.Uint64

	hostOnce sync.Once
	hostName string
)

// EscapeHost makes a host name safe for a Maildir file name: '/' becomes
// "\057" and ':' becomes "\072".
func EscapeHost(h string) string {
	if !strings.ContainsAny(h, "/:") {
		return h
	}
	return strings.NewReplacer("/", `\057`, ":", `\072`).Replace(h)
}

// host is the kernel host name (gethostname, not $myhostname), escaped.
func host() string {
	hostOnce.Do(func() {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		hostName = EscapeHost(h)
	})
	return hostName
}

// UniqueName returns a fresh base name made at now. size >= 0 adds
// ",S=size,W=vsize" (bytes on disk, and with CRLF line ends), which lets
// readers skip a stat or a read.
func UniqueName(now time.Time, size, vsize int64) string {
	return uniqueName(now, host(), size, vsize)
}

func uniqueName(now time.Time, host string, size, vsize int64) string {
	b := make([]byte, 0, 64+len(host))
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, ".M"...)
	b = strconv.AppendInt(b, int64(now.Nanosecond()/1000), 10)
	b = append(b, 'P')
	b = append(b, pid...)
	b = append(b, 'Q')
	b = strconv.AppendUint(b, counter.Add(1), 10)
	b = append(b, '.')
	b = append(b, host...)
	if size >= 0 {
		b = append(b, ",S="...)
		b = strconv.AppendInt(b, size, 10)
		b = append(b, ",W="...)
		b = strconv.AppendInt(b, vsize, 10)
	}
	return string(b)
}
