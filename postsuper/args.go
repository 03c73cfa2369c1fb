package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"postern/pkg/getopt"
	"postern/pkg/queue"
)

const usage = "usage: postsuper [-psSv] [-c config_dir] [-d queue_id] [-e queue_id] [-f queue_id] [-h queue_id] [-H queue_id] [-r queue_id] [directory ...]"

// Operations, in the order they are carried out.
const (
	opDelete  = 'd'
	opRequeue = 'r'
	opExpire  = 'e' // force-expire
	opForce   = 'f' // force-expire and release from hold
	opHold    = 'h'
	opRelease = 'H'
)

var opOrder = []byte{opDelete, opRequeue, opExpire, opForce, opHold, opRelease}

// defaultQueues are the queues each operation searches when no directory is named
// (postsuper(1)).
var defaultQueues = map[byte][]string{
	opDelete:  {queue.Hold, queue.Incoming, queue.Active, queue.Deferred},
	opRequeue: {queue.Hold, queue.Incoming, queue.Active, queue.Deferred},
	opExpire:  {queue.Hold, queue.Incoming, queue.Active, queue.Deferred},
	opForce:   {queue.Hold, queue.Incoming, queue.Active, queue.Deferred},
	opHold:    {queue.Incoming, queue.Active, queue.Deferred},
	opRelease: {queue.Hold},
}

// request is a parsed command line.
type request struct {
	configDir string
	ids       map[byte][]string // per operation: queue IDs or "ALL"
	queues    []string          // directory arguments
	structure bool              // -s
	purge     bool              // -p
}

// parseArgs reads the command line getopt-style; "-" as a queue ID reads IDs from stdin,
// one per line.
func parseArgs(args []string, stdin io.Reader) (*request, error) {
	r := &request{ids: map[byte][]string{}}
	var stdinIDs []string
	stdinRead := false
	args, err := getopt.Parse(args, "vSspc:d:e:f:h:H:r:", func(c byte, val string) error {
		switch c {
		case 's':
			r.structure = true
		case 'p':
			r.purge = true
		case 'c':
			r.configDir = val
		case 'd', 'e', 'f', 'h', 'H', 'r':
			if val == "-" {
				if !stdinRead {
					stdinRead = true
					sc := bufio.NewScanner(stdin)
					for sc.Scan() {
						if f := strings.Fields(sc.Text()); len(f) > 0 {
							stdinIDs = append(stdinIDs, f[0])
						}
					}
				}
				r.ids[c] = append(r.ids[c], stdinIDs...)
				return nil
			}
			if val != "ALL" && !queue.ValidID(val) {
				return fmt.Errorf("invalid queue id: %s", val)
			}
			r.ids[c] = append(r.ids[c], val)
		}
		return nil
	})
	var bad *getopt.Error
	if errors.As(err, &bad) {
		return nil, fmt.Errorf("%s", usage)
	}
	if err != nil {
		return nil, err
	}
	for _, d := range args {
		if !queue.IsQueueName(d) || d == queue.Corrupt {
			return nil, fmt.Errorf("invalid directory name: %s", d)
		}
		r.queues = append(r.queues, d)
	}
	if len(r.ids) == 0 && !r.purge {
		r.structure = true
	}
	return r, nil
}
