package queue

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Record types, as Postfix's rec_type.h. Only these appear in Postern queue files.
const (
	RecSize     = 'C' // fixed-width sizes, patched in place at the end
	RecTime     = 'T' // "sec usec" arrival time
	RecAttr     = 'A' // name=value
	RecFullName = 'F' // sender's full name (sendmail -F)
	RecSender   = 'S' // envelope sender; empty = <>
	RecOrig     = 'O' // original recipient (precedes its R)
	RecRcpt     = 'R' // recipient still to deliver
	RecDone     = 'D' // recipient done (R overwritten in place)
	RecWarn     = 'W' // delay warning time
	RecMesg     = 'M' // start of content
	RecNorm     = 'N' // a content line without its newline
	RecCont     = 'L' // part of a long line, continued by the next record
	RecXtra     = 'X' // start of the extracted segment
	RecEnd      = 'E' // end: a file without it is incomplete
)

// MaxRecord bounds one record's data; content lines are split far below this.
const MaxRecord = 1 << 20

// ErrCorrupt is returned for a file or stream that breaks the record format.
var ErrCorrupt = errors.New("queue: corrupt record stream")

// AppendRecord encodes one record onto b.
func AppendRecord(b []byte, typ byte, data []byte) []byte {
	b = append(b, typ)
	b = appendLen(b, len(data))
	return append(b, data...)
}

func appendLen(b []byte, n int) []byte {
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// WriteRecord writes one record.
func WriteRecord(w io.Writer, typ byte, data []byte) error {
	var hdr [12]byte
	h := appendLen(append(hdr[:0], typ), len(data))
	if _, err := w.Write(h); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

// RecordReader reads records and tracks the byte offset of each.
type RecordReader struct {
	r   *bufio.Reader
	off int64
	buf []byte
}

// NewRecordReader reads records from r, whose first byte is at offset start.
func NewRecordReader(r io.Reader, start int64) *RecordReader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &RecordReader{r: br, off: start}
}

// Offset is the offset of the next record.
func (rr *RecordReader) Offset() int64 { return rr.off }

// Next returns the next record's type, data and offset. The data slice is valid until the next
// call. io.EOF is returned only at a clean record boundary.
func (rr *RecordReader) Next() (typ byte, data []byte, off int64, err error) {
	off = rr.off
	typ, err = rr.r.ReadByte()
	if err != nil {
		return 0, nil, off, err
	}
	var n, shift int
	for i := 0; ; i++ {
		c, err := rr.r.ReadByte()
		if err != nil {
			return 0, nil, off, ErrCorrupt
		}
		if i > 4 {
			return 0, nil, off, ErrCorrupt
		}
		n |= int(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			rr.off += int64(i + 2)
			break
		}
	}
	if n > MaxRecord {
		return 0, nil, off, fmt.Errorf("%w: record of %d bytes", ErrCorrupt, n)
	}
	if cap(rr.buf) < n {
		rr.buf = make([]byte, n)
	}
	rr.buf = rr.buf[:n]
	if _, err := io.ReadFull(rr.r, rr.buf); err != nil {
		return 0, nil, off, ErrCorrupt
	}
	rr.off += int64(n)
	return typ, rr.buf, off, nil
}

// FormatTime is a T record's data: "sec usec".
func FormatTime(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + " " + strconv.Itoa(t.Nanosecond()/1000)
}

// ParseTime reads a T record's data, "sec usec" (usec optional); ok is false for anything
// else.
func ParseTime(data []byte) (t time.Time, ok bool) {
	f := strings.Fields(string(data))
	if len(f) == 0 || len(f) > 2 {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, false
	}
	var usec int64
	if len(f) == 2 {
		usec, err = strconv.ParseInt(f[1], 10, 64)
		if err != nil || usec < 0 || usec > 999999 {
			return time.Time{}, false
		}
	}
	return time.Unix(sec, usec*1000), true
}
