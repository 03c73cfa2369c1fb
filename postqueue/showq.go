package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"postern/pkg/queue"
)

// showqOrder is the order in which Postfix's showq lists the queues.
var showqOrder = []string{queue.Maildrop, queue.Active, queue.Incoming, queue.Deferred, queue.Hold}

// entry is one queued message as mailq shows it.
type entry struct {
	Queue   string
	ID      string
	Arrival time.Time
	Size    int64
	Forced  bool // force-expired (group execute bit)
	Sender  string
	Rcpts   []rcpt
}

type rcpt struct {
	Addr   string
	Reason string // from the defer log; "" when none
}

// scan reads every ready message of the listed queues. Files that vanish or cannot be parsed
// while the queue moves under us are skipped, as showq does. A queue directory that cannot
// be read is an error (typically: not root or mail_owner).
func scan(q *queue.Queue, queues []string) ([]entry, error) {
	var out []entry
	for _, name := range queues {
		ents, err := q.Scan(name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		for _, e := range ents {
			if m, ok := read(q, name, e.ID); ok {
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// read loads one message: sender, size (the C record's content size, the file size for a
// maildrop file, which has none), arrival and the recipients still to deliver, each with
// its reason from the defer log.
func read(q *queue.Queue, name, id string) (entry, bool) {
	path := q.Path(name, id)
	fi, err := os.Stat(path)
	if err != nil {
		return entry{}, false
	}
	env, err := queue.ReadEnvelope(path)
	if err != nil {
		return entry{}, false
	}
	m := entry{Queue: name, ID: id, Arrival: env.Arrival, Size: env.ContentSize, Sender: env.Sender,
		Forced: fi.Mode().Perm()&0010 != 0}
	if m.Arrival.IsZero() {
		m.Arrival = fi.ModTime()
	}
	if m.Size == 0 {
		m.Size = fi.Size()
	}
	reasons := map[string]string{}
	if f, err := os.Open(q.Path(queue.Defer, id)); err == nil {
		ents, _ := queue.ReadLog(f)
		f.Close()
		for _, e := range ents {
			reasons[e.Recipient] = e.Reason
		}
	}
	seen := map[string]bool{}
	for _, r := range env.Recipients {
		if r.Done || seen[r.Addr] {
			continue
		}
		seen[r.Addr] = true
		m.Rcpts = append(m.Rcpts, rcpt{Addr: r.Addr, Reason: reasons[r.Addr]})
	}
	return m, true
}

// writeListing prints the queue in Postfix's mailq columns (postfix-behaviour.md §3.8).
func writeListing(w io.Writer, msgs []entry, emptyAddr string) error {
	if len(msgs) == 0 {
		_, err := fmt.Fprintln(w, "Mail queue is empty")
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-11s %7s %-20s %s\n", "-Queue ID-", "--Size--", "----Arrival Time----", "-Sender/Recipient-------")
	var total int64
	for _, m := range msgs {
		id := m.ID
		switch m.Queue {
		case queue.Active:
			id += "*"
		case queue.Hold:
			id += "!"
		}
		if m.Forced {
			id += "#"
		}
		sender := m.Sender
		if sender == "" {
			sender = emptyAddr
		}
		// asctime() cut to 20 columns: the trailing space makes two before the sender.
		fmt.Fprintf(&b, "%-11s %7d %20.20s %s\n", id, m.Size, m.Arrival.Local().Format("Mon Jan _2 15:04:05 2006"), printable(sender))
		prev := ""
		for _, r := range m.Rcpts {
			if r.Reason != prev {
				why := r.Reason
				if why == "" {
					why = "reason unavailable"
				}
				why = printable(why)
				fmt.Fprintf(&b, "%*s(%s)\n", max(76-len(why), 0), "", why)
				prev = r.Reason
			}
			fmt.Fprintf(&b, "%41s%s\n", "", printable(r.Addr))
		}
		b.WriteString("\n")
		total += m.Size
	}
	plural := "s"
	if len(msgs) == 1 {
		plural = ""
	}
	fmt.Fprintf(&b, "-- %d Kbytes in %d Request%s.\n", total/1024, len(msgs), plural)
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonEntry is one line of postqueue -j, with Postfix's field names and order.
type jsonEntry struct {
	QueueName    string     `json:"queue_name"`
	QueueID      string     `json:"queue_id"`
	ArrivalTime  int64      `json:"arrival_time"`
	MessageSize  int64      `json:"message_size"`
	ForcedExpire bool       `json:"forced_expire"`
	Sender       string     `json:"sender"`
	Recipients   []jsonRcpt `json:"recipients"`
}

type jsonRcpt struct {
	Address     string `json:"address"`
	DelayReason string `json:"delay_reason,omitempty"`
}

// writeJSON prints one JSON object per message and line.
func writeJSON(w io.Writer, msgs []entry) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, m := range msgs {
		j := jsonEntry{QueueName: m.Queue, QueueID: m.ID, ArrivalTime: m.Arrival.Unix(), MessageSize: m.Size,
			ForcedExpire: m.Forced, Sender: m.Sender, Recipients: []jsonRcpt{}}
		for _, r := range m.Rcpts {
			j.Recipients = append(j.Recipients, jsonRcpt{Address: r.Addr, DelayReason: r.Reason})
		}
		if err := enc.Encode(j); err != nil {
			return err
		}
	}
	return nil
}

// printable masks control and non-ASCII bytes so a queue file cannot garble the terminal.
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}
