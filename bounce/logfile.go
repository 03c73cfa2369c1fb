package main

import "postern/pkg/queue"

// DSN NOTIFY bits as the logs and queue files store them.
const (
	notifyNever   = 1
	notifySuccess = 2
	notifyFailure = 4
	notifyDelay   = 8
)

// wants tells whether a recipient's DSN NOTIFY setting asks for a notice of this kind;
// without NOTIFY the defaults are FAILURE and DELAY (RFC 3461).
func wants(e *queue.LogEntry, bit int) bool {
	if e.Notify == 0 {
		return bit == notifyFailure || bit == notifyDelay
	}
	if e.Notify&notifyNever != 0 {
		return false
	}
	return e.Notify&bit != 0
}
