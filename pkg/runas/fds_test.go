package runas

import (
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// SendFD's packet arrives whole with its descriptor, which ReceivedFDs
// finds in the control data.
func TestSendFD(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "end")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	a, b := conn(fds[0]), conn(fds[1])
	defer a.Close()
	defer b.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := SendFD(a, []byte("packet"), w, sendTimeout); err != nil {
		t.Fatal(err)
	}
	buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := b.ReadMsgUnix(buf, oob)
	if err != nil || string(buf[:n]) != "packet" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	got := ReceivedFDs(oob[:oobn])
	if len(got) != 1 {
		t.Fatalf("descriptors %v", got)
	}
	// The received descriptor is the pipe's write end.
	wf := os.NewFile(uintptr(got[0]), "received")
	wf.Write([]byte("x"))
	wf.Close()
	one := make([]byte, 1)
	if _, err := r.Read(one); err != nil || one[0] != 'x' {
		t.Fatalf("pipe read %q, %v", one, err)
	}
	CloseFDs(nil)
	if ReceivedFDs(nil) != nil {
		t.Fatal("descriptors from no control data")
	}
}
