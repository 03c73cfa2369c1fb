package main

import "postern/pkg/queue"

// checkStorage refuses a new transaction with Postfix's "452 4.3.1 Insufficient system
// storage" when the queue file system is short of space (queue.StorageOK: queue_minfree,
// 1.5 message_size_limit, the announced SIZE). Refusing at MAIL FROM spares the client a
// whole DATA phase that cleanup could not store; a write that fails anyway at the end of
// DATA is still answered "451 4.3.0 Error: queue file write error". Free space is read
// anew for every MAIL FROM, so acceptance resumes by itself when space returns.
// It returns the reply, "" when there is room.
func (s *session) checkStorage(size int64) string {
	if queue.StorageOK(s.srv.queueDir, s.srv.sizeLimit, s.srv.queueMinfree, size) {
		return ""
	}
	free, _ := queue.FreeSpace(s.srv.queueDir)
	s.srv.log.Warn("not enough free space in mail queue: %d bytes < 1.5*message_size_limit", free)
	s.srv.log.Info("NOQUEUE: reject: MAIL from %s: 452 4.3.1 Insufficient system storage; proto=%s%s",
		s.w.client(), s.proto(), s.heloLog())
	return "452 4.3.1 Insufficient system storage"
}
