package main

import (
	"strings"
	"sync"
	"time"

	"postern/pkg/config"
	"postern/pkg/ipc"
	"postern/pkg/queue"
)

const (
	// unlimitedProcs bounds a transport whose master.cf maxproc is 0 (no limit).
	unlimitedProcs = 1000
	// idleConnTime is how long an unused agent connection is kept; closing it lets the
	// agent's process reach max_idle and exit when mail stops.
	idleConnTime = 10 * time.Second
	dialTimeout  = 10 * time.Second
)

// transports holds one scheduler per delivery transport, created on first use.
type transports struct {
	q      *qmgr
	mu     sync.Mutex
	byName map[string]*transport
	procs  map[string]int // maxproc of master.cf unix services, by name
}

func newTransports(q *qmgr) *transports {
	ts := &transports{q: q, byName: map[string]*transport{}, procs: map[string]int{}}
	if dir := q.cfg.Dir(); dir != "" {
		if svcs, err := config.LoadMaster(dir, q.cfg); err == nil {
			for _, s := range svcs {
				if s.Type == "unix" {
					ts.procs[s.Name] = s.MaxProc
				}
			}
		}
	}
	return ts
}

// job is one recipient of one message on its way to an agent.
type job struct {
	m     *message
	rcpt  *queue.Recipient
	route route
}

// submit queues a job on its transport.
func (ts *transports) submit(j *job) { ts.get(j.route.transport).submit(j) }

func (ts *transports) get(name string) *transport {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t := ts.byName[name]; t != nil {
		return t
	}
	cfg := ts.q.cfg
	t := &transport{
		q:         ts.q,
		name:      name,
		socket:    ts.q.q.Socket("private", name),
		maxproc:   int(cfg.Int("default_process_limit")),
		destLimit: int(perTransport(cfg, name, "destination_concurrency_limit")),
		rcptLimit: int(perTransport(cfg, name, "destination_recipient_limit")),
		timeout:   cfg.Duration(name + "_time_limit"),
		retry:     cfg.Duration("transport_retry_time"),
		rateDelay: perTransportDuration(cfg, name, "destination_rate_delay"),
		dests:     map[string]*dest{},
	}
	if n, ok := ts.procs[name]; ok {
		t.maxproc = n
	}
	if t.maxproc <= 0 {
		t.maxproc = unlimitedProcs
	}
	if t.destLimit <= 0 {
		t.destLimit = t.maxproc
	}
	if t.timeout <= 0 {
		t.timeout = cfg.Duration("command_time_limit")
	}
	// The agent enforces its own time limit; ours only catches an agent that hangs.
	t.timeout += 100 * time.Second
	if t.retry <= 0 {
		t.retry = 60 * time.Second
	}
	ts.byName[name] = t
	return t
}

// perTransport reads <transport>_<suffix>, falling back to default_<suffix>.
func perTransport(cfg *config.Config, name, suffix string) int64 {
	if n := cfg.Int(name + "_" + suffix); n > 0 {
		return n
	}
	return cfg.Int("default_" + suffix)
}

// perTransportDuration reads <transport>_<suffix> as a time, falling back to default_<suffix>.
func perTransportDuration(cfg *config.Config, name, suffix string) time.Duration {
	if cfg.IsSet(name + "_" + suffix) {
		return cfg.Duration(name + "_" + suffix)
	}
	return cfg.Duration("default_" + suffix)
}

// forget clears dead-transport marks (trigger F).
func (ts *transports) forget() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, t := range ts.byName {
		t.mu.Lock()
		t.deadUntil = time.Time{}
		t.mu.Unlock()
	}
}

// reap closes agent connections that have been idle for a while.
func (ts *transports) reap() {
	ts.mu.Lock()
	list := make([]*transport, 0, len(ts.byName))
	for _, t := range ts.byName {
		list = append(list, t)
	}
	ts.mu.Unlock()
	for _, t := range list {
		t.reap()
	}
}

// transport schedules deliveries to one agent service: at most maxproc in flight overall
// and destLimit per destination, destinations served round-robin so one busy recipient or
// domain cannot starve the others.
type transport struct {
	q         *qmgr
	name      string
	socket    string
	maxproc   int
	destLimit int
	rcptLimit int
	timeout   time.Duration
	retry     time.Duration
	rateDelay time.Duration // <transport>_destination_rate_delay: one delivery per destination per delay

	mu        sync.Mutex
	dests     map[string]*dest
	ready     []*dest // destinations with waiting jobs and a free slot
	busy      int
	idle      []idleConn
	deadUntil time.Time // connecting failed: defer without trying until then
}

// dest is one destination's queue: the recipient when the transport takes one recipient
// per delivery (local), else the next hop.
type dest struct {
	key    string
	jobs   []*job
	busy   int
	queued bool      // in transport.ready
	next   time.Time // with a rate delay: the earliest start of the next delivery
	timer  bool      // a wake-up for next is pending
}

type idleConn struct {
	c    *ipc.Conn
	used time.Time
}

func (t *transport) destKey(j *job) string {
	if t.rcptLimit == 1 {
		return strings.ToLower(j.rcpt.Addr)
	}
	return strings.ToLower(j.route.nexthop)
}

func (t *transport) submit(j *job) {
	key := t.destKey(j)
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.dests[key]
	if d == nil {
		d = &dest{key: key}
		t.dests[key] = d
	}
	d.jobs = append(d.jobs, j)
	t.enqueueLocked(d)
	t.dispatchLocked()
}

// enqueueLocked puts d on the ready list when it has work and room.
func (t *transport) enqueueLocked(d *dest) {
	limit := t.destLimit
	if t.rateDelay > 0 {
		limit = 1 // Postfix: a rate delay implies one delivery at a time per destination
	}
	if d.queued || len(d.jobs) == 0 || d.busy >= limit {
		return
	}
	if wait := time.Until(d.next); t.rateDelay > 0 && wait > 0 {
		if !d.timer {
			d.timer = true
			time.AfterFunc(wait, func() {
				t.mu.Lock()
				d.timer = false
				t.enqueueLocked(d)
				t.dispatchLocked()
				t.mu.Unlock()
			})
		}
		return
	}
	d.queued = true
	t.ready = append(t.ready, d)
}

// dispatchLocked starts jobs while the transport has free slots.
func (t *transport) dispatchLocked() {
	for t.busy < t.maxproc && len(t.ready) > 0 {
		d := t.ready[0]
		t.ready[0] = nil
		t.ready = t.ready[1:]
		d.queued = false
		j := d.jobs[0]
		d.jobs[0] = nil
		d.jobs = d.jobs[1:]
		d.busy++
		t.busy++
		if t.rateDelay > 0 {
			d.next = time.Now().Add(t.rateDelay)
		}
		t.enqueueLocked(d)
		go t.run(j, d)
	}
}

// run delivers one job, frees its slots, then records the outcome.
func (t *transport) run(j *job, d *dest) {
	rep := t.deliver(j)
	t.mu.Lock()
	d.busy--
	t.busy--
	if len(d.jobs) == 0 && d.busy == 0 && !time.Now().Before(d.next) {
		// A destination under a rate delay is kept until its delay has passed.
		delete(t.dests, d.key)
	} else {
		t.enqueueLocked(d)
	}
	t.dispatchLocked()
	t.mu.Unlock()
	t.q.record(j.m, j.rcpt, rep)
}

// pooled returns the most recently used pooled connection to the agent, if any. Whether the
// agent still holds its end shows on the request itself (exchange).
func (t *transport) pooled() (c *ipc.Conn, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.idle)
	if n == 0 {
		return nil, false
	}
	c = t.idle[n-1].c
	t.idle[n-1] = idleConn{}
	t.idle = t.idle[:n-1]
	return c, true
}

// putConn returns a healthy connection to the pool.
func (t *transport) putConn(c *ipc.Conn) {
	t.mu.Lock()
	if len(t.idle) < t.maxproc {
		t.idle = append(t.idle, idleConn{c: c, used: time.Now()})
		c = nil
	}
	t.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

func (t *transport) reap() {
	now := time.Now()
	var old []*ipc.Conn
	t.mu.Lock()
	keep := t.idle[:0]
	for _, ic := range t.idle {
		if now.Sub(ic.used) > idleConnTime {
			old = append(old, ic.c)
		} else {
			keep = append(keep, ic)
		}
	}
	for i := len(keep); i < len(t.idle); i++ {
		t.idle[i] = idleConn{}
	}
	t.idle = keep
	t.mu.Unlock()
	for _, c := range old {
		c.Close()
	}
}

// dead tells whether connecting failed recently; markDead records a failure and reports
// whether it is news (to log it once per retry period).
func (t *transport) dead() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return time.Now().Before(t.deadUntil)
}

func (t *transport) markDead() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	news := !time.Now().Before(t.deadUntil)
	t.deadUntil = time.Now().Add(t.retry)
	return news
}
