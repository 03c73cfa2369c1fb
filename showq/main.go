package main

import (
	"bufio"
	"errors"
	"net"
	"syscall"
	"time"

	"postern/pkg/maillog"
	"postern/pkg/mailq"
	"postern/pkg/queue"
	"postern/pkg/service"
)

func main() {
	service.Main("showq", service.Options{}, func(e *service.Env) (func(net.Conn), error) {
		s := &server{q: queue.New(e.Config.Get("queue_directory")), log: e.Log, timeout: e.Config.Duration("ipc_timeout")}
		return s.serve, nil
	})
}

type server struct {
	q       *queue.Queue
	log     *maillog.Logger
	timeout time.Duration // for the whole report: a client that stops reading is dropped
}

// serve streams the queue report to one client and closes the connection. The client sends
// nothing.
func (s *server) serve(c net.Conn) {
	defer c.Close()
	if s.timeout > 0 {
		c.SetWriteDeadline(time.Now().Add(s.timeout))
	}
	w := bufio.NewWriterSize(c, 64<<10)
	var werr error
	err := mailq.Scan(s.q, func(m mailq.Message) error {
		werr = mailq.Send(w, m)
		return werr
	})
	if err == nil {
		werr = w.Flush()
	}
	switch {
	case werr != nil:
		if !errors.Is(werr, syscall.EPIPE) && !errors.Is(werr, syscall.ECONNRESET) {
			s.log.Warn("write queue report: %v", werr)
		}
	case err != nil:
		s.log.Warn("scan queue: %v", err)
	}
}
