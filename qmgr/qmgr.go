package main

import (
	"context"
	"sync"
	"time"

	"postern/pkg/config"
	"postern/pkg/maillog"
	"postern/pkg/queue"
)

// incomingPoll is the safety-net scan of incoming/ for a trigger that got lost (cleanup's
// trigger is best effort).
const incomingPoll = 5 * time.Second

// qmgr is the queue manager: one scheduler goroutine (run) owns scanning and admission into
// active/; deliveries and their bookkeeping run on the transports' goroutines.
type qmgr struct {
	cfg *config.Config
	log *maillog.Logger
	q   *queue.Queue
	now func() time.Time

	activeLimit    int
	runDelay       time.Duration
	minBackoff     time.Duration
	maxBackoff     time.Duration
	maxLifetime    time.Duration
	bounceLifetime time.Duration
	oldlogCompat   bool
	deferXports    map[string]bool // defer_transports: transports whose mail waits for a flush
	softBounce     bool            // soft_bounce: permanent failures are deferred, never bounced

	resolver   *resolver
	transports *transports
	logs       logSet // which messages may have bounce, defer or trace logs

	mu      sync.Mutex
	pending trigger // scans requested and not yet done
	active  map[string]*message
	inc     []queue.Entry // incoming files found by the last scan, not yet admitted
	def     []queue.Entry // due deferred files found by the last scan, not yet admitted
	defAll  bool          // def came from a scan that ignored retry times (trigger A)
	// incFlush and defFlush: inc or def came from a scan after trigger F, so defer_transports
	// does not hold their messages back.
	incFlush, defFlush bool
	turn               bool // whose turn is next: false = incoming, true = deferred
	wake               chan struct{}
}

func newQmgr(cfg *config.Config, log *maillog.Logger) (*qmgr, error) {
	q := &qmgr{
		cfg:            cfg,
		log:            log,
		q:              queue.New(cfg.Get("queue_directory")),
		now:            time.Now,
		activeLimit:    int(cfg.Int("qmgr_message_active_limit")),
		runDelay:       cfg.Duration("queue_run_delay"),
		minBackoff:     cfg.Duration("minimal_backoff_time"),
		maxBackoff:     cfg.Duration("maximal_backoff_time"),
		maxLifetime:    cfg.Duration("maximal_queue_lifetime"),
		bounceLifetime: cfg.Duration("bounce_queue_lifetime"),
		oldlogCompat:   cfg.Bool("backwards_bounce_logfile_compatibility"),
		softBounce:     cfg.Bool("soft_bounce"),
		active:         map[string]*message{},
		wake:           make(chan struct{}, 1),
	}
	if q.activeLimit <= 0 {
		q.activeLimit = 20000
	}
	if q.runDelay <= 0 {
		q.runDelay = 300 * time.Second
	}
	for _, name := range cfg.List("defer_transports") {
		if q.deferXports == nil {
			q.deferXports = map[string]bool{}
		}
		q.deferXports[name] = true
	}
	if q.bounceLifetime > q.maxLifetime {
		// As Postfix's qmgr at start.
		log.Warn("bounce_queue_lifetime is larger than maximal_queue_lifetime - adjusting bounce_queue_lifetime")
		q.bounceLifetime = q.maxLifetime
	}
	if q.maxBackoff < q.minBackoff {
		q.maxBackoff = q.minBackoff
	}
	var err error
	if q.resolver, err = newResolver(cfg, log); err != nil {
		return nil, err
	}
	q.transports = newTransports(q)
	return q, nil
}

// run is the scheduler: crash recovery, then scans on triggers and timers until ctx ends.
// Messages in flight at the end stay in active/ and go back to incoming/ at the next start.
func (q *qmgr) run(ctx context.Context) {
	q.logs.load(q.q)
	q.recover()
	q.request(scanIncoming | scanDeferred)
	inc := time.NewTicker(incomingPoll)
	defer inc.Stop()
	def := time.NewTicker(q.runDelay)
	defer def.Stop()
	for {
		q.scan()
		q.admit()
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-inc.C:
			q.transports.reap()
			q.request(scanIncoming)
		case <-def.C:
			q.request(scanDeferred)
		}
	}
}

// poke wakes the scheduler; wakeups collapse.
func (q *qmgr) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
