package service

import (
	"context"
	"errors"
	"net"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// DrainTimeout caps how long ServeStream waits for connections in hand after
// SIGTERM/SIGINT or an idle exit.
var DrainTimeout = 30 * time.Second

var (
	sigOnce sync.Once
	sigCtx  context.Context
)

// SignalContext returns a context that is cancelled when the process gets
// SIGTERM or SIGINT. Every call returns the same context.
func SignalContext() context.Context {
	sigOnce.Do(func() {
		sigCtx, _ = signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	})
	return sigCtx
}

// ServeStream accepts connections on every listener and runs handle(conn) in
// a goroutine for each, at most maxproc at once (0 = unlimited); further
// connections wait in the listen queue until a handler returns. handle owns
// the connection and must close it.
//
// ServeStream returns nil after maxIdle with no connection in hand (0 =
// never: resident services), or after SIGTERM/SIGINT once the handlers in
// flight have returned (at most DrainTimeout). It returns an error when a
// listener fails. The listeners are closed on return.
func ServeStream(lns []net.Listener, maxproc int, maxIdle time.Duration, handle func(net.Conn)) error {
	if len(lns) == 0 {
		return errors.New("no listeners inherited from master")
	}
	ctx := SignalContext()
	var slots chan struct{}
	if maxproc > 0 {
		slots = make(chan struct{}, maxproc)
	}

	var (
		mu       sync.Mutex
		active   int
		lastDone = time.Now()
		wg       sync.WaitGroup
		closing  = make(chan struct{})
		once     sync.Once
		errc     = make(chan error, len(lns))
	)
	stop := func() {
		once.Do(func() {
			close(closing)
			for _, ln := range lns {
				ln.Close()
			}
		})
	}
	defer stop()

	var acceptors sync.WaitGroup
	for _, ln := range lns {
		acceptors.Add(1)
		go func(ln net.Listener) {
			defer acceptors.Done()
			for {
				if slots != nil {
					select {
					case slots <- struct{}{}:
					case <-closing:
						return
					}
				}
				conn, err := ln.Accept()
				if err != nil {
					if slots != nil {
						<-slots
					}
					select {
					case <-closing:
						return
					default:
					}
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
						time.Sleep(100 * time.Millisecond)
						continue
					}
					errc <- err
					return
				}
				mu.Lock()
				active++
				mu.Unlock()
				wg.Add(1)
				go func() {
					defer func() {
						mu.Lock()
						active--
						lastDone = time.Now()
						mu.Unlock()
						if slots != nil {
							<-slots
						}
						wg.Done()
					}()
					handle(conn)
				}()
			}
		}(ln)
	}

	var tick <-chan time.Time
	if maxIdle > 0 {
		period := maxIdle / 4
		if period > time.Second {
			period = time.Second
		}
		if period < 10*time.Millisecond {
			period = 10 * time.Millisecond
		}
		t := time.NewTicker(period)
		defer t.Stop()
		tick = t.C
	}
	err := runUntil(ctx, errc, tick, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return active == 0 && time.Since(lastDone) >= maxIdle
	})
	stop()
	done := make(chan struct{})
	go func() {
		// Once every acceptor has returned, every accepted connection
		// has been counted in wg.
		acceptors.Wait()
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(DrainTimeout):
	}
	return err
}

// runUntil is the life of a server process: it returns nil on SIGTERM/SIGINT (ctx) or once
// idle reports true at a tick (a nil tick never comes), or the first serving error on errc.
func runUntil(ctx context.Context, errc <-chan error, tick <-chan time.Time, idle func() bool) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case <-tick:
			if idle() {
				return nil
			}
		}
	}
}
