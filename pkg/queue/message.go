package queue

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SizeRecordLen is the data length of the C record: six fixed-width fields, so it can be
// rewritten in place once the sizes are known.
const SizeRecordLen = 6*15 + 5

// SizeData formats the C record: content bytes (records between M and X), offset of the first
// content record, recipient count, qmgr flags, message length in bytes, smtputf8 flags.
func SizeData(contentSize, dataOffset, nrcpt, flags, msgLen, utf8 int64) []byte {
	return []byte(fmt.Sprintf("%15d %15d %15d %15d %15d %15d", contentSize, dataOffset, nrcpt, flags, msgLen, utf8))
}

// Line writes one content line (without its newline), split into L records every limit bytes.
func (w *File) Line(line []byte, limit int) error {
	if limit <= 0 {
		limit = 2048
	}
	for len(line) > limit {
		if err := w.Record(RecCont, line[:limit]); err != nil {
			return err
		}
		line = line[limit:]
	}
	return w.Record(RecNorm, line)
}

// Recipient is one envelope recipient.
type Recipient struct {
	Orig        string // as received (O record), may equal Addr
	Addr        string
	Offset      int64 // offset of the R/D record
	Done        bool
	NotifyFlags string
	DSNOrig     string
}

// Message is a queue file's envelope.
type Message struct {
	ID          string
	Arrival     time.Time
	CreateTime  time.Time
	Sender      string
	FullName    string
	Attrs       map[string]string
	Recipients  []Recipient
	DataOffset  int64 // offset of the first content record
	ContentSize int64 // bytes of content records
	MessageSize int64 // message length in bytes
	Nrcpt       int64
	WarnTime    int64
	WarnOffset  int64
}

// ReadEnvelope reads everything but the content, and checks that the file is complete.
func ReadEnvelope(path string) (*Message, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readEnvelope(f)
}

// envReaders recycles readEnvelope's buffers: qmgr reads one envelope per message, and a
// fresh 32 KiB buffer (two when the content is skipped) was most of its garbage.
var envReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}

func readEnvelope(f *os.File) (*Message, error) {
	m := &Message{Attrs: map[string]string{}}
	br := envReaders.Get().(*bufio.Reader)
	br.Reset(f)
	defer func() { br.Reset(nil); envReaders.Put(br) }()
	rr := NewRecordReader(br, 0)
	var orig, notify, dsnOrig string
	seenEnd := false
	for !seenEnd {
		typ, data, off, err := rr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: no end record", ErrCorrupt)
		}
		if err != nil {
			return nil, err
		}
		switch typ {
		case RecSize:
			fs := strings.Fields(string(data))
			if len(fs) < 5 {
				return nil, fmt.Errorf("%w: bad size record", ErrCorrupt)
			}
			m.ContentSize, _ = strconv.ParseInt(fs[0], 10, 64)
			m.DataOffset, _ = strconv.ParseInt(fs[1], 10, 64)
			m.Nrcpt, _ = strconv.ParseInt(fs[2], 10, 64)
			m.MessageSize, _ = strconv.ParseInt(fs[4], 10, 64)
		case RecTime:
			if t, ok := ParseTime(data); ok && m.Arrival.IsZero() {
				m.Arrival = t
			}
		case RecAttr:
			k, v, _ := strings.Cut(string(data), "=")
			switch k {
			case "create_time":
				sec, _ := strconv.ParseInt(v, 10, 64)
				m.CreateTime = time.Unix(sec, 0)
			case "notify_flags":
				notify = v
			case "dsn_orig_rcpt":
				dsnOrig = v
			default:
				m.Attrs[k] = v
			}
		case RecFullName:
			m.FullName = string(data)
		case RecSender:
			m.Sender = string(data)
		case RecOrig:
			orig = string(data)
		case RecRcpt, RecDone:
			a := string(data)
			o := orig
			if o == "" {
				o = a
			}
			m.Recipients = append(m.Recipients, Recipient{Orig: o, Addr: a, Offset: off, Done: typ == RecDone,
				NotifyFlags: notify, DSNOrig: dsnOrig})
			orig, notify, dsnOrig = "", "", ""
		case RecWarn:
			m.WarnTime, _ = strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
			m.WarnOffset = off
		case RecMesg:
			// Jump over the content when the size record says where it ends.
			start := rr.Offset()
			if m.DataOffset == 0 {
				m.DataOffset = start
			}
			if m.ContentSize > 0 {
				if m.ContentSize <= int64(br.Buffered()) {
					// A small message is in the buffer already: no seek, no second read.
					br.Discard(int(m.ContentSize))
				} else {
					if _, err := f.Seek(start+m.ContentSize, io.SeekStart); err != nil {
						return nil, err
					}
					br.Reset(f)
				}
				rr = NewRecordReader(br, start+m.ContentSize)
			}
		case RecNorm, RecCont:
		case RecXtra:
		case RecEnd:
			seenEnd = true
		default:
			// Unknown records are skipped: a newer writer may add some.
		}
	}
	if m.CreateTime.IsZero() {
		m.CreateTime = m.Arrival
	}
	return m, nil
}

// ContentReader returns the message content starting at dataOffset as text with "\n" line
// endings, joining L pieces, up to the X record.
func ContentReader(f *os.File, dataOffset int64) io.Reader {
	return &contentReader{rr: NewRecordReader(bufio.NewReaderSize(io.NewSectionReader(f, dataOffset, 1<<62), 64<<10), dataOffset)}
}

type contentReader struct {
	rr      *RecordReader
	pending []byte
	done    bool
	err     error
}

func (c *contentReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(c.pending) > 0 {
			k := copy(p[n:], c.pending)
			c.pending = c.pending[k:]
			n += k
			continue
		}
		if c.done {
			if n == 0 {
				return 0, c.errOrEOF()
			}
			return n, nil
		}
		typ, data, _, err := c.rr.Next()
		if err != nil {
			c.done = true
			if err == io.EOF {
				err = fmt.Errorf("%w: content without end", ErrCorrupt)
			}
			c.err = err
			continue
		}
		switch typ {
		case RecNorm:
			c.pending = append(append(c.pending[:0], data...), '\n')
		case RecCont:
			c.pending = append(c.pending[:0], data...)
		case RecXtra, RecEnd:
			c.done = true
		}
	}
	return n, nil
}

func (c *contentReader) errOrEOF() error {
	if c.err != nil {
		return c.err
	}
	return io.EOF
}

// MarkDone flips the recipient record at offset from R to D and syncs the file.
func MarkDone(path string, offset int64) error {
	return patch(path, offset, 1, func(hdr []byte) bool { return hdr[0] == RecRcpt || hdr[0] == RecDone },
		"recipient", 0, []byte{RecDone})
}

// MarkWarned rewrites the W record at offset (type byte, one length byte, 15 digits) as -1:
// the delay notice is out and is not sent again.
func MarkWarned(path string, offset int64) error {
	return patch(path, offset, 2, func(hdr []byte) bool { return hdr[0] == RecWarn && hdr[1] == 15 },
		"delay warning", 2, []byte(fmt.Sprintf("%15d", -1)))
}

// patch overwrites a fixed-width record in place and syncs the file: the n bytes at offset
// must pass ok, and data goes at offset+at.
func patch(path string, offset int64, n int, ok func([]byte) bool, what string, at int64, data []byte) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := make([]byte, n)
	if _, err := f.ReadAt(hdr, offset); err != nil {
		return err
	}
	if !ok(hdr) {
		return fmt.Errorf("%w: no %s record at offset %d", ErrCorrupt, what, offset)
	}
	if _, err := f.WriteAt(data, offset+at); err != nil {
		return err
	}
	return f.Sync()
}
