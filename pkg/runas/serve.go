package runas

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ServeOptions bound a server's side of the protocol.
type ServeOptions struct {
	MaxRequest int // the pool's MaxRequest (default 64 KiB)
	Max        int // requests in hand at once (0: no bound); more wait in the socket
	// Drain, when set, is how long the requests in hand may still run
	// once the pool has gone (end of file, or SIGTERM: Pdeathsig); a
	// server without it waits for them at end of file and dies at once
	// on SIGTERM.
	Drain time.Duration
}

// Serve is a server's life (see Pool): it takes requests from the socket
// at fd until end of file (the pool retired it, or its program died) and
// runs handle for each in a goroutine, all with this process's one
// identity. handle owns f and returns the reply. A malformed packet ends
// it with an error: the pool then fails the requests in hand.
func Serve(fd uintptr, o ServeOptions, handle func(req []byte, f *os.File) []byte) error {
	f := os.NewFile(fd, "requests")
	c, err := net.FileConn(f) // a close-on-exec duplicate: commands never see it
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
	// ptrace it and use its socket to the root pool.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	if o.MaxRequest <= 0 {
		o.MaxRequest = defaultRequest
	}
	var (
		wmu   sync.Mutex
		wg    sync.WaitGroup
		slots chan struct{}
		oob   = make([]byte, unix.CmsgSpace(4*4))
		buf   = make([]byte, idLen+o.MaxRequest+1)
	)
	if o.Max > 0 {
		slots = make(chan struct{}, o.Max)
	}
	if o.Drain > 0 {
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		go func() {
			<-term
			uc.SetReadDeadline(time.Now()) // take no more; replies still go out
		}()
		defer func() {
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(o.Drain):
			}
		}()
	} else {
		defer wg.Wait()
	}
	for {
		if slots != nil {
			slots <- struct{}{}
		}
		n, oobn, flags, _, err := uc.ReadMsgUnix(buf, oob)
		fds := ReceivedFDs(oob[:oobn])
		if err != nil || n == 0 {
			CloseFDs(fds)
			return nil
		}
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || n < idLen || len(fds) != 1 {
			CloseFDs(fds)
			return fmt.Errorf("malformed request packet (%d bytes, %d descriptors, flags %#x)", n, len(fds), flags)
		}
		id := binary.BigEndian.Uint64(buf)
		req := append([]byte(nil), buf[idLen:n]...)
		rf := os.NewFile(uintptr(fds[0]), "request") // close-on-exec: ReadMsgUnix uses MSG_CMSG_CLOEXEC
		wg.Add(1)
		go func() {
			defer wg.Done()
			if slots != nil {
				defer func() { <-slots }()
			}
			out := handle(req, rf)
			pkt := binary.BigEndian.AppendUint64(make([]byte, 0, idLen+len(out)), id)
			pkt = append(pkt, out...)
			wmu.Lock()
			uc.SetWriteDeadline(time.Now().Add(sendTimeout))
			uc.Write(pkt) // an error means the pool is gone; the read loop sees it
			wmu.Unlock()
		}()
	}
}
