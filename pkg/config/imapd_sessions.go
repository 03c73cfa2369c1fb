package config

// imapd's per-user session servers (imapd/doc.go): known names with their
// defaults, so that postconf lists them and does not call them unused.
func init() {
	for k, v := range map[string]string{
		"imapd_session_servers": "100",  // session servers (users) at once
		"imapd_session_idle":    "120s", // a session server without sessions this long exits
	} {
		if _, ok := builtinDefaults[k]; !ok {
			builtinDefaults[k] = v
		}
	}
}
