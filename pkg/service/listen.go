package service

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Environment variables set by master for its children.
const (
	EnvListenFDs = "POSTERN_LISTEN_FDS" // number of listeners, from fd 3 up
	EnvMaxProc   = "POSTERN_MAXPROC"    // concurrent connections, 0 = unlimited
	FirstFD      = 3                    // first inherited listener
)

var (
	listenOnce  sync.Once
	listeners   []net.Listener
	packetConns []net.PacketConn
	listenErr   error
)

// Listeners adopts the listening sockets inherited from master (fds 3 up to
// 3+POSTERN_LISTEN_FDS-1, TCP or unix; unix datagram sockets go to PacketConns). The original descriptors are closed
// (net.FileListener keeps a close-on-exec duplicate) and the variable is
// removed from the environment, so programs this daemon runs inherit
// neither. Later calls return the same listeners.
func Listeners() ([]net.Listener, error) {
	listenOnce.Do(func() {
		v := os.Getenv(EnvListenFDs)
		if v == "" {
			return
		}
		os.Unsetenv(EnvListenFDs)
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			listenErr = fmt.Errorf("bad %s value: %q", EnvListenFDs, v)
			return
		}
		for i := 0; i < n; i++ {
			fd := FirstFD + i
			f := os.NewFile(uintptr(fd), "listener"+strconv.Itoa(i))
			if typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err == nil && typ == unix.SOCK_DGRAM {
				pc, err := net.FilePacketConn(f)
				f.Close()
				if err != nil {
					listenErr = fmt.Errorf("inherited datagram socket fd %d: %v", fd, err)
					return
				}
				packetConns = append(packetConns, pc)
				continue
			}
			ln, err := net.FileListener(f)
			f.Close()
			if err != nil {
				listenErr = fmt.Errorf("inherited listener fd %d: %v", FirstFD+i, err)
				return
			}
			listeners = append(listeners, ln)
		}
	})
	return listeners, listenErr
}

// MaxProc is the service's process limit from master.cf (POSTERN_MAXPROC);
// 0 means unlimited.
func MaxProc() int {
	n, err := strconv.Atoi(os.Getenv(EnvMaxProc))
	if err != nil || n < 0 {
		return 0
	}
	return n
}
