package testenv

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Sink is a go-smtp server on loopback standing for a remote mail exchanger: it records
// what it receives. Rcpt and Data, when set, decide the replies (return an *smtp.SMTPError
// to refuse); set them before mail arrives.
type Sink struct {
	Addr string // 127.0.0.1:PORT
	Port int
	Rcpt func(to string) error
	Data func() error
	Cert tls.Certificate // the certificate STARTTLS presents (withTLS)

	srv   *smtp.Server
	mu    sync.Mutex
	msgs  []SunkMessage
	conns int
}

// SunkMessage is one message a Sink accepted.
type SunkMessage struct {
	From string
	Opts smtp.MailOptions
	To   []string
	Data string // as received: CR LF line ends, dot-stuffing undone
	TLS  bool   // received after STARTTLS
	// Resumed: that TLS session resumed an earlier one.
	Resumed bool
}

// NewSink starts a sink on host:0 (host is a loopback address); withTLS offers STARTTLS
// with a self-signed certificate for mx.remote.test. It stops when the test ends.
func NewSink(t testing.TB, host string, withTLS bool) *Sink {
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	k := &Sink{Addr: ln.Addr().String(), Port: ln.Addr().(*net.TCPAddr).Port}
	k.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		k.mu.Lock()
		k.conns++
		k.mu.Unlock()
		return &sinkSession{k: k, c: c}, nil
	}))
	k.srv.Domain = "sink.test"
	k.srv.ErrorLog = nopLogger{}
	k.srv.MaxMessageBytes = 1 << 20
	k.srv.ReadTimeout = time.Minute
	if withTLS {
		k.Cert = SelfSigned(t, "mx.remote.test")
		k.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{k.Cert}}
	}
	go k.srv.Serve(ln)
	t.Cleanup(func() { k.srv.Close() })
	return k
}

// Received returns the messages accepted so far.
func (k *Sink) Received() []SunkMessage {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]SunkMessage(nil), k.msgs...)
}

// Conns is the number of connections the sink has seen.
func (k *Sink) Conns() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.conns
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

type sinkSession struct {
	k   *Sink
	c   *smtp.Conn
	cur SunkMessage
}

func (s *sinkSession) Reset()        { s.cur = SunkMessage{} }
func (s *sinkSession) Logout() error { return nil }

func (s *sinkSession) Mail(from string, opts *smtp.MailOptions) error {
	s.cur.From = from
	if opts != nil {
		s.cur.Opts = *opts
	}
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.k.mu.Lock()
	hook := s.k.Rcpt
	s.k.mu.Unlock()
	if hook != nil {
		if err := hook(to); err != nil {
			return err
		}
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.k.mu.Lock()
	hook := s.k.Data
	s.k.mu.Unlock()
	if hook != nil {
		if err := hook(); err != nil {
			return err
		}
	}
	s.cur.Data = string(b)
	var st tls.ConnectionState
	st, s.cur.TLS = s.c.TLSConnectionState()
	s.cur.Resumed = st.DidResume
	s.k.mu.Lock()
	s.k.msgs = append(s.k.msgs, s.cur)
	s.k.mu.Unlock()
	return nil
}
