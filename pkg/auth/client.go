// Package auth is the client side of authd(8), Postern's one credential
// checker, for pop3d, imapd and smtpd; and a SASL LOGIN server mechanism
// to go with go-sasl's PLAIN.
//
// A request is one pkg/ipc attribute list on a fresh connection to
// $queue_directory/private/$authd_service_name:
//
//	request=auth  service=pop3|imap|smtp  username=  password=  client_address=
//	request=lookup  service=...  username=
//
// and the reply
//
//	status=ok|fail|temp  username=  uid=  gid=  home=  maildir=  reason=
//
// "fail" never says why (unknown user and wrong password look the same);
// authd has already delayed it.
package auth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"postern/pkg/config"
	"postern/pkg/ipc"
)

// Errors returned by Authenticate and Lookup.
var (
	// ErrFailed: bad credentials or unknown user (deliberately undistinguished).
	ErrFailed = errors.New("authentication failed")
)

// TempError is a failure to get an answer (authd down, backend unreadable).
type TempError struct{ Reason string }

func (e *TempError) Error() string { return "authentication service: " + e.Reason }

// User is a successful answer.
type User struct {
	Username string // canonical login name
	UID, GID int
	Home     string
	Maildir  string // absolute path of the INBOX Maildir
}

// Client talks to authd.
type Client struct {
	Socket  string
	Timeout time.Duration // per request; must exceed authd's longest failure delay
}

// DefaultTimeout covers authd's capped failure delay plus a slow hash.
const DefaultTimeout = 45 * time.Second

// DefaultService is the master.cf service name of authd.
const DefaultService = "auth"

// SocketPath is where authd listens for this configuration:
// $queue_directory/private/$authd_service_name (default "auth"). When that
// socket does not exist but private/authd does (a master.cf that names the
// service after the program), that one is used.
func SocketPath(c *config.Config) string {
	name := c.Get("authd_service_name")
	if name == "" {
		name = DefaultService
	}
	if filepath.IsAbs(name) {
		return name
	}
	p := filepath.Join(c.Get("queue_directory"), "private", name)
	if _, err := os.Stat(p); err != nil && name == DefaultService {
		alt := filepath.Join(c.Get("queue_directory"), "private", "authd")
		if _, err := os.Stat(alt); err == nil {
			return alt
		}
	}
	return p
}

// New makes a client for this configuration.
func New(c *config.Config) *Client {
	return &Client{Socket: SocketPath(c), Timeout: DefaultTimeout}
}

// Authenticate checks a password. It returns ErrFailed, a *TempError, or
// the user.
func (c *Client) Authenticate(service, username, password, clientAddr string) (*User, error) {
	return c.do(ipc.Attrs{
		{Name: "request", Value: "auth"}, {Name: "service", Value: service},
		{Name: "username", Value: username}, {Name: "password", Value: password},
		{Name: "client_address", Value: clientAddr},
	})
}

// Lookup finds a user without a password (for delivery and preauth).
func (c *Client) Lookup(service, username string) (*User, error) {
	return c.do(ipc.Attrs{
		{Name: "request", Value: "lookup"}, {Name: "service", Value: service},
		{Name: "username", Value: username},
	})
}

func (c *Client) do(req ipc.Attrs) (*User, error) {
	t := c.Timeout
	if t == 0 {
		t = DefaultTimeout
	}
	conn, err := ipc.Dial(c.Socket, 10*time.Second)
	if err != nil {
		return nil, &TempError{Reason: fmt.Sprintf("connect to %s: %v", c.Socket, err)}
	}
	defer conn.Close()
	rep, err := conn.Request(req, t)
	if err != nil {
		return nil, &TempError{Reason: fmt.Sprintf("request to %s: %v", c.Socket, err)}
	}
	return ParseReply(rep)
}

// ParseReply turns an authd reply into the Authenticate results.
func ParseReply(rep ipc.Attrs) (*User, error) {
	switch rep.Get("status") {
	case "ok":
		uid, err1 := strconv.Atoi(rep.Get("uid"))
		gid, err2 := strconv.Atoi(rep.Get("gid"))
		if err1 != nil || err2 != nil || uid < 0 || gid < 0 || rep.Get("home") == "" || rep.Get("maildir") == "" {
			return nil, &TempError{Reason: "malformed reply"}
		}
		return &User{Username: rep.Get("username"), UID: uid, GID: gid, Home: rep.Get("home"), Maildir: rep.Get("maildir")}, nil
	case "fail":
		return nil, ErrFailed
	case "temp":
		return nil, &TempError{Reason: rep.Get("reason")}
	}
	return nil, &TempError{Reason: "malformed reply"}
}

// Reply renders a User as authd's ok reply.
func (u *User) Reply() ipc.Attrs {
	return ipc.Attrs{
		{Name: "status", Value: "ok"}, {Name: "username", Value: u.Username},
		{Name: "uid", Value: strconv.Itoa(u.UID)}, {Name: "gid", Value: strconv.Itoa(u.GID)},
		{Name: "home", Value: u.Home}, {Name: "maildir", Value: u.Maildir},
	}
}
