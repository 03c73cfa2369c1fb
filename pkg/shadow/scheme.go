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
	case "CRYPT":
		return Check(password, data)
	}
	prefix, ok := schemePrefix[scheme]
	return ok && strings.HasPrefix(data, prefix) && Check(password, data)
}

// schemePrefix is the crypt(3) hash prefix each named crypt scheme requires, so that
// "{SHA512-CRYPT}" never accepts, say, an MD5 hash.
var schemePrefix = map[string]string{
	"SHA512-CRYPT": "$6$",
	"SHA256-CRYPT": "$5$",
	"MD5-CRYPT":    "$1$",
	"BLF-CRYPT":    "$2",
	"ARGON2ID":     "$argon2id$",
	"ARGON2I":      "$argon2i$",
	"SCRYPT":       "$7$",
}
