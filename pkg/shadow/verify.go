// Package shadow verifies passwords against crypt(3)-style hashes and reads
// /etc/shadow, in pure Go (no cgo, no PAM), for authd.
//
// Supported hashes are those Debian's passwd/chpasswd can write: yescrypt
// ($y$, Debian 12's default), sha512-crypt ($6$), sha256-crypt ($5$),
// md5-crypt ($1$) and bcrypt ($2a$ $2b$ $2y$), plus scrypt ($7$) and argon2
// ($argon2id$ ...) for the passwd-file backend. Anything else — DES crypt,
// empty fields, "!" and "*" markers — never matches.
package shadow

import (
	"crypto/subtle"
	"strings"

	"github.com/go-crypt/crypt"
	"github.com/go-crypt/crypt/algorithm"
	"github.com/go-crypt/crypt/algorithm/argon2"
	"github.com/go-crypt/crypt/algorithm/bcrypt"
	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/scrypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"github.com/go-crypt/x/yescrypt"
)

// decoder holds exactly the algorithms we accept; go-crypt's default set may
// change between releases, an explicit one does not.
var decoder = func() *crypt.Decoder {
	d := crypt.NewDecoder()
	for _, reg := range []func(algorithm.DecoderRegister) error{
		shacrypt.RegisterDecoder, bcrypt.RegisterDecoder, md5crypt.RegisterDecoder,
		argon2.RegisterDecoder, scrypt.RegisterDecoderScrypt,
	} {
		if err := reg(d); err != nil {
			panic("shadow: " + err.Error())
		}
	}
	return d
}()

// Check reports whether password matches the crypt(3) hash. Malformed or
// unsupported hashes never match.
func Check(password, hash string) bool {
	if hash == "" || hash[0] != '$' {
		return false
	}
	if strings.HasPrefix(hash, "$y$") {
		// yescrypt through Solar Designer's own code, which recomputes the
		// whole libxcrypt string (go-crypt's scrypt wrapper drops flags).
		got, err := yescrypt.Hash([]byte(password), []byte(hash))
		if err != nil {
			return false
		}
		return subtle.ConstantTimeCompare(got, []byte(hash)) == 1
	}
	d, err := decoder.Decode(hash)
	if err != nil {
		return false
	}
	ok, err := d.MatchAdvanced(password)
	return err == nil && ok
}

// dummyHash is a yescrypt hash at Debian's default cost; CheckDummy spends
// about the time of a real check so that unknown users answer as slowly as
// known ones.
const dummyHash = "$y$j9T$kxqQoJaQip0NppKPtpmQVl4R$u8nM2J0OlHJVg7jrEftXWLugfc3QBkN4/oHrkO2eO5/"

// CheckDummy burns one yescrypt computation and returns false.
func CheckDummy(password string) bool {
	Check(password, dummyHash)
	return false
}
