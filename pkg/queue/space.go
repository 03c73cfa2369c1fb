package queue

import "golang.org/x/sys/unix"

// FreeSpace is the number of bytes an unprivileged writer may still put on the file system
// that holds dir.
func FreeSpace(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// StorageOK applies Postfix's rule for accepting a new message (smtpd's "452 4.3.1
// Insufficient system storage"): the queue file system must keep at least queue_minfree
// bytes free, and room for 1.5 message_size_limit, and for the announced size (SIZE=) on top
// of queue_minfree. sizeLimit, minFree and size are 0 when not set or not known. When the
// free space cannot be read the answer is yes: a statfs problem must not stop mail that a
// write would accept.
func StorageOK(dir string, sizeLimit, minFree, size int64) bool {
	free, err := FreeSpace(dir)
	if err != nil {
		return true
	}
	need := minFree
	if sizeLimit > 0 && sizeLimit+sizeLimit/2 > need {
		need = sizeLimit + sizeLimit/2
	}
	if size > 0 && size+minFree > need {
		need = size + minFree
	}
	return free >= need
}
