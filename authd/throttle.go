package main

import (
	"strings"
	"sync"
	"time"
)

// throttle slows failed logins: each failure counts against the client
// address and against the username; the reply waits base * 2^(n-1) for the
// larger count n, up to limit. Counts are forgotten after forget of
// quiet. Success clears the username's count only (a client address may be
// shared by many users behind NAT).
type throttle struct {
	base, limit, forget time.Duration

	mu sync.Mutex
	m  map[string]*failCount
}

type failCount struct {
	n    int
	last time.Time
}

const maxThrottleEntries = 100000

func newThrottle(base, limit time.Duration) *throttle {
	return &throttle{base: base, limit: limit, forget: 15 * time.Minute, m: map[string]*failCount{}}
}

// failure records a failure and returns how long to delay the reply.
func (t *throttle) failure(client, user string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= maxThrottleEntries {
		t.prune(now)
	}
	n := 0
	for _, k := range []string{"c:" + client, "u:" + strings.ToLower(user)} {
		c := t.m[k]
		if c == nil || now.Sub(c.last) > t.forget {
			c = &failCount{}
			if len(t.m) < maxThrottleEntries {
				t.m[k] = c
			}
		}
		c.n++
		c.last = now
		n = max(n, c.n)
	}
	d := t.base
	for i := 1; i < n && d < t.limit; i++ {
		d *= 2
	}
	return min(d, t.limit)
}

func (t *throttle) success(user string) {
	t.mu.Lock()
	delete(t.m, "u:"+strings.ToLower(user))
	t.mu.Unlock()
}

func (t *throttle) prune(now time.Time) {
	for k, c := range t.m {
		if now.Sub(c.last) > t.forget {
			delete(t.m, k)
		}
	}
}
