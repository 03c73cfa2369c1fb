package auth

import (
	"errors"

	"github.com/emersion/go-sasl"
)

// LoginAuthenticator checks a username and password from the LOGIN mechanism.
type LoginAuthenticator func(username, password string) error

type loginServer struct {
	step     int
	username string
	auth     LoginAuthenticator
}

// NewLoginServer is a server for the obsolete but still widely used SASL
// LOGIN mechanism (draft-murchison-sasl-login): the server asks
// "Username:" then "Password:"; a client may send the username as its
// initial response. go-sasl has only the client side.
func NewLoginServer(auth LoginAuthenticator) sasl.Server {
	return &loginServer{auth: auth}
}

var errLoginInvalid = errors.New("sasl: invalid LOGIN response")

func (s *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch s.step {
	case 0:
		s.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		s.username = string(response)
		s.step = 2
		return []byte("Password:"), false, nil
	case 2:
		s.step = 3
		return nil, true, s.auth(s.username, string(response))
	}
	return nil, true, errLoginInvalid
}
