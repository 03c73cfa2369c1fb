package cleanup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"postern/pkg/ipc"
	"postern/pkg/queue"
)

// Stream is one message on its way into the queue. Records are buffered; the first write
// error sticks and makes the rest no-ops, so a client can go on consuming its input and
// learn the failure once, from Err or Close.
type Stream struct {
	// LineLimit splits content lines into L records (line_length_limit; 0 = 2048).
	LineLimit int

	nc  net.Conn
	br  *bufio.Reader
	bw  *bufio.Writer
	id  string
	err error
	cur []byte // the content line Write has begun
}

// Open connects to the cleanup service at path (public/cleanup) and reads the queue ID it
// assigns. timeout bounds the connection and every later read or write: a cleanup that
// stalls that long fails the stream. A cleanup that cannot create a queue file answers
// with an *Error.
func Open(path string, timeout time.Duration) (*Stream, error) {
	nc, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, err
	}
	ic := ipc.IdleConn{Conn: nc, Timeout: timeout}
	s := &Stream{nc: nc, br: readers.Get().(*bufio.Reader), bw: writers.Get().(*bufio.Writer)}
	s.br.Reset(ic)
	s.bw.Reset(ic)
	a, err := ipc.Read(s.br)
	if err == nil {
		s.id = a.Get(AttrQueueID)
		if !queue.ValidID(s.id) {
			if a.Has(AttrStatus) {
				err = errorOf(a)
			} else {
				err = errors.New("no valid queue_id in greeting")
			}
		}
	}
	if err != nil {
		s.Abort()
		return nil, err
	}
	return s, nil
}

// The buffers are reused from one stream to the next (smtpd opens one per message): new
// ones were a 64 KiB and a 4 KiB allocation per message to zero and later collect.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
)

// release closes the connection and gives the buffers back; a stream used after it fails
// with net.ErrClosed instead of touching a buffer another stream now has.
func (s *Stream) release() {
	s.nc.Close()
	if s.bw != nil {
		s.br.Reset(nil)
		s.bw.Reset(nil)
		readers.Put(s.br)
		writers.Put(s.bw)
		s.br, s.bw = nil, nil
	}
	if s.err == nil {
		s.err = net.ErrClosed
	}
}

// ID is the queue ID cleanup assigned.
func (s *Stream) ID() string { return s.id }

// Err is the first write error, if any.
func (s *Stream) Err() error { return s.err }

func (s *Stream) rec(typ byte, data []byte) {
	if s.err == nil {
		s.err = queue.WriteRecord(s.bw, typ, data)
	}
}

// Time sends the arrival time (T); without it cleanup uses the time it read the stream.
func (s *Stream) Time(t time.Time) { s.rec(queue.RecTime, []byte(queue.FormatTime(t))) }

// Attr sends one message attribute (A), such as rewrite_context=local.
func (s *Stream) Attr(name, value string) { s.rec(queue.RecAttr, []byte(name+"="+value)) }

// Attrs sends the attributes of a that have a value, in order: the client's identity
// (log_client_name, sasl_username, ...) of which only what is known is sent.
func (s *Stream) Attrs(a ipc.Attrs) {
	for _, x := range a {
		if x.Value != "" {
			s.Attr(x.Name, x.Value)
		}
	}
}

// FullName sends the sender's full name (F, sendmail -F).
func (s *Stream) FullName(name string) { s.rec(queue.RecFullName, []byte(name)) }

// Sender sends the envelope sender (S); "" is the null sender <>.
func (s *Stream) Sender(addr string) { s.rec(queue.RecSender, []byte(addr)) }

// Recipient is one envelope recipient with its DSN attributes.
type Recipient struct {
	Addr    string // R: the address to deliver to
	Orig    string // O: as the client gave it; "" sends none (cleanup takes Addr)
	Notify  int    // DSN NOTIFY bits (notify_flags); 0 = not given
	DSNOrig string // DSN ORCPT as "type;address"; "" = not given
}

// Recipient sends one recipient: its DSN attributes, O, then R. Sent after Extracted it is
// an extracted recipient (sendmail -t).
func (s *Stream) Recipient(r Recipient) {
	if r.Notify != 0 {
		s.Attr(AttrNotify, strconv.Itoa(r.Notify))
	}
	if r.DSNOrig != "" {
		s.Attr(AttrDSNOrig, r.DSNOrig)
	}
	if r.Orig != "" {
		s.rec(queue.RecOrig, []byte(r.Orig))
	}
	s.rec(queue.RecRcpt, []byte(r.Addr))
}

// Content starts the message content (M): the envelope is complete.
func (s *Stream) Content() { s.rec(queue.RecMesg, nil) }

// Line sends one content line, without its newline, split every LineLimit bytes.
func (s *Stream) Line(b []byte) {
	if s.err == nil {
		s.err = queue.WriteLine(s.bw, b, s.LineLimit)
	}
}

// Text sends r as content lines (see Write). The error is r's; write errors stick (Err).
func (s *Stream) Text(r io.Reader) error {
	_, err := io.Copy(s, r)
	s.EndLine()
	return err
}

// Write sends content as it arrives, in pieces of any size (DATA lines, BDAT chunks):
// CRLF and bare LF both end a line and are not sent, and no more than about one record of
// a line is held. It never fails: write errors stick (Err).
func (s *Stream) Write(p []byte) (int, error) {
	limit := s.LineLimit
	if limit <= 0 {
		limit = 2048
	}
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.cur = append(s.cur, p...)
			// Keep at least two bytes back, so that a CR before the coming LF stays with
			// the line end and the records come out as queue.File.Line makes them.
			for len(s.cur) > limit+1 {
				s.rec(queue.RecCont, s.cur[:limit])
				s.cur = s.cur[:copy(s.cur, s.cur[limit:])]
			}
			break
		}
		if len(s.cur) == 0 {
			// The whole line is in p: send it from there, no copy (DATA's usual case).
			s.Line(trimEOL(p[:i+1]))
		} else {
			s.cur = append(s.cur, p[:i+1]...)
			s.Line(trimEOL(s.cur))
			s.cur = s.cur[:0]
		}
		p = p[i+1:]
	}
	return n, nil
}

// EndLine sends what Write holds of a last line that had no line end.
func (s *Stream) EndLine() {
	if len(s.cur) > 0 {
		s.Line(s.cur)
		s.cur = s.cur[:0]
	}
}

func trimEOL(b []byte) []byte {
	b = b[:len(b)-1]
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// Copy sends the content of a queue or maildrop file as stored: its N and L records, read
// from rr up to and including X (which is not sent). Any other record, or a read error,
// is returned wrapping queue.ErrCorrupt; write errors stick (Err).
func (s *Stream) Copy(rr *queue.RecordReader) error {
	for {
		typ, data, _, err := rr.Next()
		if err != nil {
			return fmt.Errorf("%w: %v", queue.ErrCorrupt, err)
		}
		switch typ {
		case queue.RecNorm, queue.RecCont:
			s.rec(typ, data)
		case queue.RecXtra:
			return nil
		default:
			return fmt.Errorf("%w: record type %q in message content", queue.ErrCorrupt, typ)
		}
	}
}

// Extracted ends the content (X); recipients sent after it are extracted ones.
func (s *Stream) Extracted() { s.rec(queue.RecXtra, nil) }

// Close ends the stream (E) and waits for cleanup's verdict, which comes only once the
// queue file is safely on disk. It returns the queue ID, or an *Error when cleanup refused
// the message, or another error when the stream broke (nothing was queued then either).
func (s *Stream) Close() (string, error) {
	defer s.release()
	s.rec(queue.RecEnd, nil)
	if s.err == nil {
		s.err = s.bw.Flush()
	}
	if s.err != nil {
		return "", s.err
	}
	a, err := ipc.Read(s.br)
	if err != nil {
		return "", err
	}
	if a.Get(AttrStatus) != "0" {
		return "", errorOf(a)
	}
	if id := a.Get(AttrQueueID); id != "" {
		s.id = id
	}
	return s.id, nil
}

// Abort drops the stream: cleanup discards a queue file whose stream ends without E.
func (s *Stream) Abort() { s.release() }
