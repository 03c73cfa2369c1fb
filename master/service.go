package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"postern/pkg/config"
)

// ids is a resolved user: mail_owner, who owns the queue directories.
type ids struct {
	name     string
	uid, gid int
}

func lookupUser(name string) (*ids, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &ids{name: name, uid: uid, gid: gid}, nil
}

// service is one master.cf entry that master runs: its listening sockets,
// its program and the goroutine that keeps a child running for it.
type service struct {
	conf     config.Service
	path     string     // program: daemon_directory/command
	args     []string   // command line after the program name
	maxproc  int        // POSTERN_MAXPROC
	resident bool       // started at once and restarted when it dies
	lis      *listeners // shared with the next generation on reload
	wakeup   time.Duration

	stop chan struct{} // closed when the service is retired
	// stopW is closed with stop, so that stopR wakes the poll of waitReadable at once.
	stopR, stopW *os.File
	stopped      bool          // under master.mu: no more children
	done         chan struct{} // closed when supervise returned
}

// listeners are the listening sockets of one service. Master keeps them open
// for its whole life (or until a reload drops the service), so connections
// queue in the kernel while no child runs.
type listeners struct {
	spec     string     // identity for reload: "unix /path" or "inet host:port ..."
	files    []*os.File // non-blocking dups; safe to pass as ExtraFiles
	fds      []int      // the same, for poll
	unixPath string     // socket to unlink when the service goes away
	network  string     // for wakeups: "unix" or "tcp"
	address  string
}

// halt retires s: no more children. The caller holds m.mu.
func (s *service) halt() {
	if s.stopped {
		return
	}
	s.stopped = true
	close(s.stop)
	if s.stopW != nil {
		s.stopW.Close()
	}
}

func (l *listeners) close() {
	for _, f := range l.files {
		f.Close()
	}
	if l.unixPath != "" {
		os.Remove(l.unixPath)
	}
}

// knownPorts are resolved without /etc/services (Postfix's known_tcp_ports
// plus the mail retrieval ports).
var knownPorts = map[string]int{
	"lmtp": 24, "smtp": 25, "smtps": 465, "submissions": 465, "submission": 587,
	"pop3": 110, "imap": 143, "imaps": 993, "pop3s": 995,
}

func lookupPort(p string) (int, error) {
	if n, err := strconv.Atoi(p); err == nil && n >= 0 && n < 65536 {
		return n, nil
	}
	if n, ok := knownPorts[strings.ToLower(p)]; ok {
		return n, nil
	}
	n, err := net.LookupPort("tcp", p)
	if err != nil {
		return 0, fmt.Errorf("unknown service: %s/tcp", p)
	}
	return n, nil
}

// inetAddrs turns an inet service name ([host:]port) into listen addresses,
// using inet_interfaces when there is no host.
func inetAddrs(name string, c *config.Config) (network string, addrs []string, optional map[string]bool, err error) {
	host, port := "", name
	if strings.Contains(name, ":") {
		if host, port, err = net.SplitHostPort(name); err != nil {
			return "", nil, nil, fmt.Errorf("bad inet service name %q: %v", name, err)
		}
	}
	pn, err := lookupPort(port)
	if err != nil {
		return "", nil, nil, err
	}
	network = "tcp"
	v4, v6 := true, true
	switch p := strings.ToLower(strings.Join(c.List("inet_protocols"), ",")); {
	case p == "ipv4":
		network, v6 = "tcp4", false
	case p == "ipv6":
		network, v4 = "tcp6", false
	}
	ps := strconv.Itoa(pn)
	optional = map[string]bool{}
	var hosts []string
	if host != "" {
		hosts = []string{host}
	} else {
		ifs := c.List("inet_interfaces")
		switch {
		case len(ifs) == 0 || len(ifs) == 1 && strings.EqualFold(ifs[0], "all"):
			hosts = []string{""}
		case len(ifs) == 1 && strings.EqualFold(ifs[0], "loopback-only"):
			if v4 {
				hosts = append(hosts, "127.0.0.1")
			}
			if v6 {
				hosts = append(hosts, "::1")
				optional[net.JoinHostPort("::1", ps)] = v4
			}
		default:
			for _, h := range ifs {
				hosts = append(hosts, strings.Trim(h, "[]"))
			}
		}
	}
	for _, h := range hosts {
		addrs = append(addrs, net.JoinHostPort(h, ps))
	}
	return network, addrs, optional, nil
}

// openListeners opens the sockets of one service.
func (m *master) openListeners(s config.Service, c *config.Config) (*listeners, error) {
	switch s.Type {
	case "inet":
		network, addrs, optional, err := inetAddrs(s.Name, c)
		if err != nil {
			return nil, err
		}
		spec, _ := listenSpec(s, c)
		l := &listeners{spec: spec, network: "tcp"}
		for _, a := range addrs {
			ln, err := net.Listen(network, a)
			if err != nil {
				if optional[a] {
					continue
				}
				l.close()
				return nil, fmt.Errorf("bind %s: %w", a, err)
			}
			if l.address == "" {
				l.address = ln.Addr().String()
			}
			if err := l.adopt(ln.(*net.TCPListener), ln.Addr().String()); err != nil {
				l.close()
				return nil, err
			}
		}
		if len(l.files) == 0 {
			return nil, fmt.Errorf("no usable address for %s", s.Name)
		}
		return l, nil
	case "unix", "unix-dgram":
		dir := "public"
		if s.Private {
			dir = "private"
		}
		path := filepath.Join(c.Get("queue_directory"), dir, s.Name)
		network := "unix"
		if s.Type == "unix-dgram" {
			network = "unixgram"
		}
		l := &listeners{spec: s.Type + " " + path, unixPath: path, network: network, address: path}
		if err := os.MkdirAll(filepath.Dir(path), 0700); err != nil {
			return nil, err
		}
		os.Remove(path)
		var sock rawSocket
		if network == "unix" {
			ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				return nil, fmt.Errorf("bind %s: %w", path, err)
			}
			ln.SetUnlinkOnClose(false)
			sock = ln
		} else {
			// A datagram endpoint (Debian's postlog): clients send to it without connecting
			// first, so it needs no accept; the child reads the datagrams from it.
			pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
			if err != nil {
				return nil, fmt.Errorf("bind %s: %w", path, err)
			}
			sock = pc
		}
		if err := os.Chmod(path, 0666); err != nil {
			sock.Close()
			l.close()
			return nil, err
		}
		if os.Geteuid() == 0 && m.owner != nil {
			os.Lchown(path, m.owner.uid, m.owner.gid)
		}
		if err := l.adopt(sock, path); err != nil {
			l.close()
			return nil, err
		}
		return l, nil
	}
	return nil, fmt.Errorf("unsupported service type %s", s.Type)
}

// rawSocket is a listening stream socket or a bound datagram socket.
type rawSocket interface {
	SyscallConn() (syscall.RawConn, error)
	Close() error
}

// adopt keeps a close-on-exec duplicate of sock and closes sock. The
// duplicate goes through os.NewFile so that (*os.File).Fd, which os/exec
// calls for ExtraFiles, leaves the socket non-blocking: the O_NONBLOCK flag
// is shared with the children's copies.
func (l *listeners) adopt(sock rawSocket, name string) error {
	defer sock.Close()
	rc, err := sock.SyscallConn()
	if err != nil {
		return err
	}
	dup := -1
	cerr := rc.Control(func(fd uintptr) {
		dup, err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	})
	if cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}
	l.files = append(l.files, os.NewFile(uintptr(dup), name))
	l.fds = append(l.fds, dup)
	return nil
}

func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }

func lookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return -1, err
	}
	return strconv.Atoi(g.Gid)
}
