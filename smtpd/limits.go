package main

import (
	"net/netip"
	"sync"
	"time"

	"postern/pkg/config"
	"postern/pkg/resolve"
	"postern/pkg/table"
)

// limits counts connections per client address, in the place of Postfix's anvil(8): smtpd
// is one process per service serving every connection in a goroutine, so the counts of a
// service are all in this process. (Postfix's anvil counts across services; here
// smtp and submission count separately.)
type limits struct {
	countLimit int           // smtpd_client_connection_count_limit; 0: none
	rateLimit  int           // smtpd_client_connection_rate_limit; 0: none
	unit       time.Duration // anvil_rate_time_unit
	exceptions *resolve.List // smtpd_client_event_limit_exceptions

	mu    sync.Mutex
	count map[netip.Addr]int
	rate  map[netip.Addr]*rateWindow
}

type rateWindow struct {
	start time.Time
	n     int
}

func newLimits(cfg *config.Config, warn func(string, ...any)) *limits {
	l := &limits{
		countLimit: int(cfg.Int("smtpd_client_connection_count_limit")),
		rateLimit:  int(cfg.Int("smtpd_client_connection_rate_limit")),
		unit:       cfg.Duration("anvil_rate_time_unit"),
		count:      map[netip.Addr]int{},
		rate:       map[netip.Addr]*rateWindow{},
	}
	if l.unit <= 0 {
		l.unit = time.Minute
	}
	nl, err := resolve.OpenList(cfg, "smtpd_client_event_limit_exceptions", &table.Options{Warnf: warn})
	if err != nil {
		warn("%v", err)
	}
	l.exceptions = nl
	return l
}

// exceptionFor tells whether the client is in smtpd_client_event_limit_exceptions; a table
// that cannot answer counts as no exception.
func (l *limits) exceptionFor(ip netip.Addr, name string) bool {
	ok, _ := l.exceptions.MatchHost(name, ip)
	return ok
}

// admit counts a new connection. It returns the release function to call when the
// connection ends, or which limit was exceeded ("concurrency" or "rate") and the count.
func (l *limits) admit(ip netip.Addr, name string, now time.Time) (release func(), exceeded string, n int) {
	if !ip.IsValid() || l.exceptionFor(ip, name) {
		return func() {}, "", 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count[ip]++
	release = func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.count[ip]--; l.count[ip] <= 0 {
			delete(l.count, ip)
		}
	}
	if l.countLimit > 0 && l.count[ip] > l.countLimit {
		return release, "concurrency", l.count[ip]
	}
	if l.rateLimit > 0 {
		if len(l.rate) > 10000 {
			for a, w := range l.rate {
				if now.Sub(w.start) >= l.unit {
					delete(l.rate, a)
				}
			}
		}
		w := l.rate[ip]
		if w == nil || now.Sub(w.start) >= l.unit {
			w = &rateWindow{start: now}
			l.rate[ip] = w
		}
		w.n++
		if w.n > l.rateLimit {
			return release, "rate", w.n
		}
	}
	return release, "", 0
}
