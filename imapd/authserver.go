package main

import (
	"bytes"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"postern/pkg/maildir"
	"postern/pkg/maillog"
)

// sessionUser is who a logged-in connection belongs to.
type sessionUser struct {
	name, maildir string
	rip, lip      string
	onClose       func()
	started       atomic.Bool   // a session was made for the connection
	closed        chan struct{} // closed once that session has closed (its cache written)
	closeOnce     sync.Once
}

// authServer runs go-imap for connections that are already logged in.
// go-imap always starts with a greeting; the connection is handed over
// PREAUTH and authedConn swallows that greeting, since the client already
// has its tagged LOGIN reply.
type authServer struct {
	srv *imapserver.Server
	ln  *chanListener
	log *maillog.Logger
}

func newAuthServer(log *maillog.Logger, limit uint32) *authServer {
	a := &authServer{ln: newChanListener(), log: log}
	a.srv = imapserver.New(&imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			ac, ok := c.NetConn().(*authedConn)
			if !ok {
				return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: "Not logged in."}
			}
			if err := ensureMaildir(ac.user.maildir); err != nil {
				log.Warn("user=<%s>: Maildir %s: %v", ac.user.name, ac.user.maildir, err)
				return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: "Temporary problem, please try again later"}
			}
			st := getStore(filepath.Clean(ac.user.maildir))
			u := ac.user
			u.started.Store(true)
			u.onClose = func() {
				log.Info("Disconnected: user=<%s>, rip=%s", u.name, u.rip)
				u.closeOnce.Do(func() { close(u.closed) })
			}
			return &session{u: u, st: st, lim: limit}, &imapserver.GreetingData{PreAuth: true}, nil
		},
		Caps: imap.CapSet{
			imap.CapIMAP4rev1: {}, imap.CapNamespace: {}, imap.CapUIDPlus: {}, imap.CapListStatus: {},
			imap.CapMove: {}, imap.CapStatusSize: {}, imap.CapChildren: {}, imap.CapLiteralPlus: {},
		},
		Logger:       log,
		InsecureAuth: true,
	})
	go a.srv.Serve(a.ln)
	return a
}

// serve runs one logged-in connection and returns when it ends.
func (a *authServer) serve(c *authedConn) {
	a.ln.ch <- c
	<-c.done
	// LOGOUT closes the connection before go-imap closes the session:
	// wait for that too, or a session child would exit before it has
	// written the folder's cache.
	if c.user.started.Load() {
		select {
		case <-c.user.closed:
		case <-time.After(30 * time.Second):
		}
	}
}

// ensureMaildir creates the INBOX Maildir when it is missing (a user who
// never got mail yet), as the user.
func ensureMaildir(root string) error {
	return maildir.Make(root)
}

// authedConn is a logged-in connection: reads start with what the front
// end had already buffered; the first line written (go-imap's PREAUTH
// greeting) is dropped.
type authedConn struct {
	net.Conn
	pending  *bytes.Reader
	greeting bool // still swallowing the greeting
	user     *sessionUser
	once     sync.Once
	done     chan struct{}
}

func newAuthedConn(c net.Conn, pending []byte, u *sessionUser) *authedConn {
	u.closed = make(chan struct{})
	return &authedConn{Conn: c, pending: bytes.NewReader(pending), greeting: true, user: u, done: make(chan struct{})}
}

func (c *authedConn) Read(p []byte) (int, error) {
	if c.pending.Len() > 0 {
		return c.pending.Read(p)
	}
	return c.Conn.Read(p)
}

func (c *authedConn) Write(p []byte) (int, error) {
	if !c.greeting {
		return c.Conn.Write(p)
	}
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		return len(p), nil
	}
	c.greeting = false
	if rest := p[i+1:]; len(rest) > 0 {
		if _, err := c.Conn.Write(rest); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *authedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.done) })
	return err
}

// chanListener is a net.Listener fed with connections by serve.
type chanListener struct {
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.UnixAddr{Name: "imapd-sessions", Net: "unix"} }
