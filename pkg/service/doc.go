// Package service is the child side of master's process contract.
//
// master(8) starts every daemon as
//
//	DAEMON_DIRECTORY/COMMAND -c CONFIG_DIR -n SERVICE_NAME -t TYPE [-u] [ARGS...]
//
// where ARGS keep master.cf's "-o name=value" overrides. The service's
// listening sockets are inherited as file descriptors 3, 4, ...; their count
// is in the environment variable POSTERN_LISTEN_FDS, and the service's
// process limit (master.cf column 7) in POSTERN_MAXPROC (0 = unlimited).
//
// One process serves a whole service: it accepts on every inherited listener
// and handles each connection in a goroutine, at most maxproc at a time.
// It exits 0 after max_idle without a connection in hand (master starts it
// again when a listener becomes readable), and on SIGTERM or SIGINT it stops
// accepting, finishes the connections in hand and exits 0.
//
// A unix-dgram service (postlog) inherits a datagram socket instead: its daemon uses
// MainDgram, which hands each datagram, one at a time, to its handler (ServeDgram) and exits
// the same way.
//
// Master starts every child as root when it runs as root. A daemon of an
// unprivileged service (-u) reads, in Main and while still root, the TLS
// certificate and key files its Options.TLS parameters name (kept in
// memory, see Certificates), then drops to mail_owner with no supplementary
// groups (DropPrivileges) before it calls start or accepts a connection, and
// exits if any thread is left with another identity, as Postfix's daemons
// do. A child of a master that is not root keeps its user.
//
// A daemon's main is usually just
//
//	func main() {
//		service.Main("cleanup", service.Options{}, func(e *service.Env) (func(net.Conn), error) {
//			s := newServer(e.Config, e.Log)
//			return s.handle, nil
//		})
//	}
package service
