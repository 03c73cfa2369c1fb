package shadow

import (
	"crypto/subtle"
	"strings"
)

// CheckScheme verifies password against a Dovecot/Courier-style stored
// password: "{SCHEME}data". Schemes: SHA512-CRYPT, SHA256-CRYPT, MD5-CRYPT,
// BLF-CRYPT, CRYPT (any crypt(3) hash, including yescrypt), ARGON2ID,
// ARGON2I, SCRYPT, PLAIN and CLEARTEXT. A value without a scheme is taken as
// crypt(3) (Dovecot's default_pass_scheme = CRYPT). Unknown schemes never
// match.
func CheckScheme(password, stored string) bool {
	scheme, data := "CRYPT", stored
	if strings.HasPrefix(stored, "{") {
		i := strings.IndexByte(stored, '}')
		if i < 0 {
			return false
		}
		scheme, data = strings.ToUpper(stored[1:i]), stored[i+1:]
		// Dovecot allows "{SCHEME.ENCODING}"; only the default encodings are
		// meaningful for crypt-style values.
		scheme, _, _ = strings.Cut(scheme, ".")
	}
	switch scheme {
	case "PLAIN", "CLEARTEXT":
		return data != "" && subtle.ConstantTimeCompare([]byte(password), []byte(data)) == 1
	case "SHA512-CRYPT":
		return strings.HasPrefix(data, "$6$") && Check(password, data)
	case "SHA256-CRYPT":
		return strings.HasPrefix(data, "$5$") && Check(password, data)
	case "MD5-CRYPT":
		return strings.HasPrefix(data, "$1$") && Check(password, data)
	case "BLF-CRYPT":
		return strings.HasPrefix(data, "$2") && Check(password, data)
	case "ARGON2ID":
		return strings.HasPrefix(data, "$argon2id$") && Check(password, data)
	case "ARGON2I":
		return strings.HasPrefix(data, "$argon2i$") && Check(password, data)
	case "SCRYPT":
		return strings.HasPrefix(data, "$7$") && Check(password, data)
	case "CRYPT":
		return Check(password, data)
	}
	return false
}
