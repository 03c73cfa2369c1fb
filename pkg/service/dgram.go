package service

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// PacketConns are the datagram sockets inherited from master (unix-dgram services such as
// postlog), adopted with the stream listeners by Listeners.
func PacketConns() ([]net.PacketConn, error) {
	_, err := Listeners()
	return packetConns, err
}

// MainDgram is the whole main function of a datagram daemon, as Main is for stream daemons:
// it calls start and hands every datagram to the handler start returns (see ServeDgram), at
// most size bytes of it. A start error or a socket failure is fatal (exit 1); otherwise
// MainDgram exits 0.
func MainDgram(prog string, o Options, size int, start func(e *Env) (func([]byte), error)) {
	e := setup(prog, o)
	stopProfile := StartProfile(prog)
	handle, err := start(e)
	if err != nil {
		e.Log.Fatal("%v", err)
	}
	if err := ServeDgram(e.PacketConns, size, e.MaxIdle, handle); err != nil {
		e.Log.Fatal("receive: %v", err)
	}
	stopProfile()
	os.Exit(0)
}

// dgramPoll is how often a reader looks up from its socket for SIGTERM or idleness.
const dgramPoll = 200 * time.Millisecond

// ServeDgram reads datagrams from every socket and calls handle with each, one at a time (as
// Postfix's single-threaded dgram server does). A datagram longer than size bytes is cut to
// size; handle must not keep the slice. ServeDgram returns nil after maxIdle without a
// datagram (0 = never), or after SIGTERM/SIGINT once the datagram in hand is handled; an error
// when a socket fails. Datagrams not yet read stay queued in the socket for the next process
// master starts. The sockets are closed on return.
func ServeDgram(pcs []net.PacketConn, size int, maxIdle time.Duration, handle func([]byte)) error {
	if len(pcs) == 0 {
		return errors.New("no datagram sockets inherited from master")
	}
	ctx := SignalContext()
	var (
		mu       sync.Mutex // one handle at a time
		last     atomic.Int64
		stopping atomic.Bool
		wg       sync.WaitGroup
		errc     = make(chan error, len(pcs))
	)
	last.Store(time.Now().UnixNano())
	for _, pc := range pcs {
		wg.Add(1)
		go func(pc net.PacketConn) {
			defer wg.Done()
			buf := make([]byte, size+1) // one more byte tells a cut datagram
			for !stopping.Load() {
				pc.SetReadDeadline(time.Now().Add(dgramPoll))
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						continue
					}
					errc <- err
					return
				}
				n = min(n, size)
				mu.Lock()
				handle(buf[:n])
				last.Store(time.Now().UnixNano())
				mu.Unlock()
			}
		}(pc)
	}
	t := time.NewTicker(dgramPoll)
	defer t.Stop()
	err := runUntil(ctx, errc, t.C, func() bool {
		return maxIdle > 0 && time.Since(time.Unix(0, last.Load())) >= maxIdle
	})
	stopping.Store(true)
	wg.Wait()
	for _, pc := range pcs {
		pc.Close()
	}
	return err
}
