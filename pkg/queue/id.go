package queue

import (
	"fmt"
	"time"
)

// MakeID builds a short queue ID as Postfix does: the microseconds of the creation time as
// five upper-case hex digits, then the inode number in upper-case hex. IDs sort roughly by
// time within a second and are unique among files that exist at the same time (the inode),
// though an ID may come back after its file is gone.
func MakeID(now time.Time, inode uint64) string {
	return fmt.Sprintf("%05X%X", now.Nanosecond()/1000, inode)
}

// ValidID tells whether s can be a queue file name: alphanumerics only, bounded length. It
// keeps names from the network or the command line from walking out of the queue.
func ValidID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
