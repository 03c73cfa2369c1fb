package handoff

import (
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Serve is a session server's life (see Pool): it takes sessions from the
// socket at fd until end of file (the front end retired it, or died) and
// runs handle for each in a goroutine; when handle returns, the session
// is reported ended. At end of file it waits for the sessions in hand.
// A malformed packet ends it with an error.
func Serve(fd uintptr, handle func(conn net.Conn, params []byte)) error {
	f := os.NewFile(fd, "sessions")
	c, err := net.FileConn(f) // a close-on-exec duplicate
	f.Close()
	if err != nil {
		return err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("fd %d is not a unix socket", fd)
	}
	defer uc.Close()
	// The server runs with a user's uid; without this, that user could
	// ptrace it and use its socket to the root front end.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	var (
		wmu sync.Mutex
		wg  sync.WaitGroup
		oob = make([]byte, unix.CmsgSpace(4*4))
		buf = make([]byte, idLen+MaxSessionParams+1)
	)
	defer wg.Wait()
	for {
		n, oobn, flags, _, err := uc.ReadMsgUnix(buf, oob)
		fds := ReceivedFDs(oob[:oobn])
		if err != nil || n == 0 {
			CloseFDs(fds)
			return nil
		}
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || n < idLen || len(fds) != 1 {
			CloseFDs(fds)
			return fmt.Errorf("malformed session packet (%d bytes, %d descriptors, flags %#x)", n, len(fds), flags)
		}
		id := append([]byte(nil), buf[:idLen]...)
		params := append([]byte(nil), buf[idLen:n]...)
		cf := os.NewFile(uintptr(fds[0]), "conn") // close-on-exec: MSG_CMSG_CLOEXEC
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				wmu.Lock()
				uc.SetWriteDeadline(time.Now().Add(sendTimeout))
				uc.Write(id) // an error means the front end is gone; the read loop sees it
				wmu.Unlock()
			}()
			conn, err := net.FileConn(cf)
			cf.Close()
			if err != nil {
				fmt.Fprintf(os.Stderr, "session connection: %v\n", err)
				return
			}
			defer conn.Close()
			handle(conn, params)
		}()
	}
}
