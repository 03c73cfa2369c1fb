package main

import (
	"io"
	"time"

	"postern/pkg/maildir"
)

// appendFile stores an APPENDed message in folder's cur/ (maildir.Store):
// CRLF made LF, as Maildir files are kept, its IMAP size (CRLF) in the name,
// dated (INTERNALDATE is the mtime).
func appendFile(folder string, r io.Reader, letters string, date time.Time) (string, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	body := fromCRLF(raw)
	return maildir.Store(folder, body, int64(len(toCRLF(body))), letters, date)
}
