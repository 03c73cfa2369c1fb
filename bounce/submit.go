package main

import (
	"fmt"
	"time"

	"postern/pkg/cleanup"
)

// cleanupClient submits a notice through cleanup's public/cleanup (pkg/cleanup) in local
// rewrite context, so cleanup adds Message-Id: and Date:.
type cleanupClient struct {
	path      string
	timeout   time.Duration
	lineLimit int
}

// post queues one message from sender to rcpt and returns its queue ID.
func (c *cleanupClient) post(sender, rcpt string, lines []string) (string, error) {
	st, err := cleanup.Open(c.path, c.timeout)
	if err != nil {
		return "", fmt.Errorf("connect to cleanup: %v", err)
	}
	st.LineLimit = c.lineLimit
	st.Time(time.Now())
	st.Attr("rewrite_context", "local")
	st.Sender(sender)
	st.Recipient(cleanup.Recipient{Addr: rcpt})
	st.Content()
	for _, l := range lines {
		st.Line([]byte(l))
	}
	st.Extracted()
	id, err := st.Close()
	if err != nil {
		return "", fmt.Errorf("cleanup: %v", err)
	}
	return id, nil
}
