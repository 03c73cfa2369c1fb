package runas

import (
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// SendFD writes pkt with f's descriptor attached as one packet on a
// SOCK_SEQPACKET socket, where a send is all or nothing. Callers sending
// from several goroutines serialise the calls themselves.
func SendFD(c *net.UnixConn, pkt []byte, f *os.File, timeout time.Duration) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	c.SetWriteDeadline(time.Now().Add(timeout))
	cerr := rc.Control(func(fd uintptr) {
		var n int
		n, _, err = c.WriteMsgUnix(pkt, unix.UnixRights(int(fd)), nil)
		if err == nil && n != len(pkt) {
			err = fmt.Errorf("short send (%d of %d bytes)", n, len(pkt))
		}
	})
	if cerr != nil {
		return cerr
	}
	return err
}

// ReceivedFDs are the descriptors in a message's control data (SCM_RIGHTS).
func ReceivedFDs(oob []byte) []int {
	var fds []int
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	for i := range msgs {
		if f, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, f...)
		}
	}
	return fds
}

// CloseFDs closes received descriptors that will not be used.
func CloseFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
