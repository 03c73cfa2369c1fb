// Package mailq is the queue report: what showq(8) reads from the queue, how the report travels
// from showq to postqueue(1) over public/showq, and the two ways postqueue prints it (-p,
// Postfix's mailq columns; -j, one JSON object per message). showq, and postqueue when root
// reads the queue itself because showq is not reachable, use the same Scan; postqueue renders
// with the same Listing and WriteJSON either way, so the output is the same byte for byte.
package mailq

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"time"

	"postern/pkg/ipc"
	"postern/pkg/printable"
	"postern/pkg/queue"
)

// Order is the order in which Postfix's showq lists the queues.
var Order = []string{queue.Maildrop, queue.Active, queue.Incoming, queue.Deferred, queue.Hold}

// Message is one queued message as mailq shows it.
type Message struct {
	Queue   string
	ID      string
	Arrival time.Time
	Size    int64
	Forced  bool // force-expired (group execute bit)
	Sender  string
	Rcpts   []Recipient
}

// Recipient is one recipient still to deliver.
type Recipient struct {
	Addr   string
	Reason string // from the defer log; "" when none
}

// Scan calls each for every ready message of the queues in Order. Files that vanish or cannot
// be parsed while the queue moves under us are skipped, as showq does. A missing queue
// directory is skipped; one that cannot be read is an error (typically: not root or
// mail_owner). An error from each ends the scan and is returned.
func Scan(q *queue.Queue, each func(Message) error) error {
	for _, name := range Order {
		ents, err := q.Scan(name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return err
		}
		for _, e := range ents {
			if m, ok := read(q, name, e.ID); ok {
				if err := each(m); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// read loads one message: sender, size (the C record's content size, the file size for a
// maildrop file, which has none), arrival and the recipients still to deliver, each with
// its reason from the defer log.
func read(q *queue.Queue, name, id string) (Message, bool) {
	path := q.Path(name, id)
	fi, err := os.Stat(path)
	if err != nil {
		return Message{}, false
	}
	env, err := queue.ReadEnvelope(path)
	if err != nil {
		return Message{}, false
	}
	m := Message{Queue: name, ID: id, Arrival: env.Arrival, Size: env.ContentSize, Sender: env.Sender,
		Forced: fi.Mode()&queue.ForceExpire != 0}
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
		m.Rcpts = append(m.Rcpts, Recipient{Addr: r.Addr, Reason: reasons[r.Addr]})
	}
	return m, true
}

// The report on the wire (public/showq) is a sequence of pkg/ipc attribute lists, like
// Postfix's showq stream: per message one list with queue_name, queue_id, time (epoch
// seconds), size, forced_expire (0 or 1) and sender; one list per recipient with recipient
// and, when known, reason; then an empty list. The report ends when showq closes the
// connection.

// Send writes one message of the report.
func Send(w io.Writer, m Message) error {
	forced := "0"
	if m.Forced {
		forced = "1"
	}
	head := ipc.Attrs{{Name: "queue_name", Value: m.Queue}, {Name: "queue_id", Value: m.ID},
		{Name: "time", Value: strconv.FormatInt(m.Arrival.Unix(), 10)},
		{Name: "size", Value: strconv.FormatInt(m.Size, 10)},
		{Name: "forced_expire", Value: forced}, {Name: "sender", Value: m.Sender}}
	if err := ipc.Write(w, head); err != nil {
		return err
	}
	for _, r := range m.Rcpts {
		a := ipc.Attrs{{Name: "recipient", Value: r.Addr}}
		if r.Reason != "" {
			a = a.Add("reason", r.Reason)
		}
		if err := ipc.Write(w, a); err != nil {
			return err
		}
	}
	return ipc.Write(w, nil)
}

// ErrProtocol reports a report stream that does not have the shape Send gives it.
var ErrProtocol = errors.New("malformed queue report")

// Receive reads one message of the report; io.EOF means the report ended cleanly. A stream cut
// inside a message is io.ErrUnexpectedEOF.
func Receive(r *bufio.Reader) (Message, error) {
	head, err := ipc.Read(r)
	if err != nil {
		return Message{}, err
	}
	if !head.Has("queue_id") || !head.Has("queue_name") {
		return Message{}, ErrProtocol
	}
	m := Message{Queue: head.Get("queue_name"), ID: head.Get("queue_id"), Arrival: time.Unix(head.Int("time"), 0),
		Size: head.Int("size"), Forced: head.Get("forced_expire") == "1", Sender: head.Get("sender")}
	for {
		a, err := ipc.Read(r)
		if err == io.EOF {
			return Message{}, io.ErrUnexpectedEOF
		}
		if err != nil {
			return Message{}, err
		}
		if len(a) == 0 {
			return m, nil
		}
		if !a.Has("recipient") {
			return Message{}, ErrProtocol
		}
		m.Rcpts = append(m.Rcpts, Recipient{Addr: a.Get("recipient"), Reason: a.Get("reason")})
	}
}

// Listing prints messages in Postfix's mailq columns (postfix-behaviour.md §3.8), as they
// come: the header before the first one, the summary (or "Mail queue is empty") on Close.
type Listing struct {
	w         *bufio.Writer
	emptyAddr string
	n         int
	total     int64
}

// NewListing starts a listing on w; emptyAddr ($empty_address_recipient) stands for the
// null sender.
func NewListing(w io.Writer, emptyAddr string) *Listing {
	return &Listing{w: bufio.NewWriter(w), emptyAddr: emptyAddr}
}

// Add prints one message block.
func (l *Listing) Add(m Message) error {
	b := l.w
	if l.n == 0 {
		fmt.Fprintf(b, "%-11s %7s %-20s %s\n", "-Queue ID-", "--Size--", "----Arrival Time----", "-Sender/Recipient-------")
	}
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
		sender = l.emptyAddr
	}
	// asctime() cut to 20 columns: the trailing space makes two before the sender.
	fmt.Fprintf(b, "%-11s %7d %20.20s %s\n", id, m.Size, m.Arrival.Local().Format("Mon Jan _2 15:04:05 2006"), printable.ASCII(sender, '?'))
	prev := ""
	for _, r := range m.Rcpts {
		if r.Reason != prev {
			why := r.Reason
			if why == "" {
				why = "reason unavailable"
			}
			why = printable.ASCII(why, '?')
			fmt.Fprintf(b, "%*s(%s)\n", max(76-len(why), 0), "", why)
			prev = r.Reason
		}
		fmt.Fprintf(b, "%41s%s\n", "", printable.ASCII(r.Addr, '?'))
	}
	b.WriteString("\n")
	l.n++
	l.total += m.Size
	return nil
}

// Close prints the summary line, or "Mail queue is empty", and flushes.
func (l *Listing) Close() error {
	if l.n == 0 {
		fmt.Fprintln(l.w, "Mail queue is empty")
	} else {
		plural := "s"
		if l.n == 1 {
			plural = ""
		}
		fmt.Fprintf(l.w, "-- %d Kbytes in %d Request%s.\n", l.total/1024, l.n, plural)
	}
	return l.w.Flush()
}

// jsonMessage is one line of postqueue -j, with Postfix's field names and order.
type jsonMessage struct {
	QueueName    string          `json:"queue_name"`
	QueueID      string          `json:"queue_id"`
	ArrivalTime  int64           `json:"arrival_time"`
	MessageSize  int64           `json:"message_size"`
	ForcedExpire bool            `json:"forced_expire"`
	Sender       string          `json:"sender"`
	Recipients   []jsonRecipient `json:"recipients"`
}

type jsonRecipient struct {
	Address     string `json:"address"`
	DelayReason string `json:"delay_reason,omitempty"`
}

// WriteJSON prints one message as one JSON object on one line (postqueue -j).
func WriteJSON(w io.Writer, m Message) error {
	j := jsonMessage{QueueName: m.Queue, QueueID: m.ID, ArrivalTime: m.Arrival.Unix(), MessageSize: m.Size,
		ForcedExpire: m.Forced, Sender: m.Sender, Recipients: []jsonRecipient{}}
	for _, r := range m.Rcpts {
		j.Recipients = append(j.Recipients, jsonRecipient{Address: r.Addr, DelayReason: r.Reason})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(j)
}
