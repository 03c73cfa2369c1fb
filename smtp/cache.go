package main

import (
	"sync"
	"time"
)

// cache keeps sessions between requests, by destination, so that mail queued for one
// place goes down one connection (Postfix's connection cache, kept inside this process).
// A cached session is idle at a transaction boundary; it is checked with RSET before use.
type cache struct {
	mu     sync.Mutex
	byKey  map[string][]*session
	total  int
	closeF func(*session)
}

const (
	maxCachedPerDest = 8
	maxCached        = 200
)

func newCache(closeF func(*session)) *cache {
	return &cache{byKey: map[string][]*session{}, closeF: closeF}
}

// get takes the most recently cached session for key.
func (c *cache) get(key string, now time.Time, idleLimit time.Duration) *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.byKey[key]
	for len(list) > 0 {
		ss := list[len(list)-1]
		list = list[:len(list)-1]
		c.total--
		if now.Sub(ss.idle) <= idleLimit {
			c.setLocked(key, list)
			return ss
		}
		go c.closeF(ss)
	}
	c.setLocked(key, list)
	return nil
}

func (c *cache) setLocked(key string, list []*session) {
	if len(list) == 0 {
		delete(c.byKey, key)
	} else {
		c.byKey[key] = list
	}
}

// put caches a session; it reports false (and the caller closes it) when there is no room.
func (c *cache) put(ss *session, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total >= maxCached || len(c.byKey[ss.key]) >= maxCachedPerDest {
		return false
	}
	ss.idle = now
	c.byKey[ss.key] = append(c.byKey[ss.key], ss)
	c.total++
	return true
}

// expire closes sessions idle for longer than idleLimit.
func (c *cache) expire(now time.Time, idleLimit time.Duration) {
	var old []*session
	c.mu.Lock()
	for k, list := range c.byKey {
		keep := list[:0]
		for _, ss := range list {
			if now.Sub(ss.idle) > idleLimit {
				old = append(old, ss)
			} else {
				keep = append(keep, ss)
			}
		}
		for i := len(keep); i < len(list); i++ {
			list[i] = nil
		}
		c.total -= len(list) - len(keep)
		c.setLocked(k, keep)
	}
	c.mu.Unlock()
	for _, ss := range old {
		c.closeF(ss)
	}
}
