package maildir

import (
	"bufio"
	"bytes"
	"io"
	"sync"

	"postern/pkg/header"
)

// CRLFStats describes one CopyCRLF.
type CRLFStats struct {
	Bytes      int64 // bytes written, dot-stuffing included
	Header8bit bool  // the header held bytes >= 0x80
}

// CopyCRLF writes a message file in network form: every line ends in CRLF
// (a bare LF gains a CR; an existing CRLF stays as it is; a last line without
// a newline gets one), and with dotStuff a line beginning with "." gets
// another "." in front (RFC 1939 byte-stuffing; the terminating ".\r\n" is
// the caller's). bodyLines >= 0 stops after the header, the empty line and
// that many body lines (POP3 TOP); -1 copies everything. The header ends
// where package postern/pkg/header says; for TOP, a header that ends
// without its empty line (at a line that is not a header, or at the end of
// the file) gets one, as RFC 1939 has the header and body parted by it.
//
// The size POP3 LIST reports (POP3Size) is Bytes with dotStuff
// false, so sizes and transfers always agree.
func CopyCRLF(w io.Writer, r io.Reader, dotStuff bool, bodyLines int) (CRLFStats, error) {
	var st CRLFStats
	// Pooled: a session sizes or sends thousands of files, and a fresh
	// 32 KiB buffer each time was most of its garbage.
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() { br.Reset(nil); readerPool.Put(br) }()
	write := func(b []byte) error {
		n, err := w.Write(b)
		st.Bytes += int64(n)
		return err
	}
	crlf, dot, cr := []byte("\r\n"), []byte("."), []byte("\r")
	atLineStart, pendingCR := true, false
	var sp header.Splitter
	inHeader, body := true, 0
	kind := header.Field // of the current line
	for {
		chunk, rerr := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if atLineStart {
				// The first piece of a line holds enough of it to decide.
				kind = sp.Next(bytes.TrimSuffix(chunk, []byte{'\n'}))
				if inHeader && kind == header.Body && bodyLines >= 0 {
					if err := write(crlf); err != nil { // the missing empty line
						return st, err
					}
				}
				inHeader = kind == header.Field || kind == header.Continuation
				if kind == header.Body && bodyLines >= 0 && body >= bodyLines {
					return st, nil
				}
				if dotStuff && chunk[0] == '.' {
					if err := write(dot); err != nil {
						return st, err
					}
				}
			}
			eol := chunk[len(chunk)-1] == '\n'
			content := chunk
			if eol {
				content = chunk[:len(chunk)-1]
			}
			if pendingCR {
				pendingCR = false
				if !(eol && len(content) == 0) {
					// The CR held back was inside the line after all.
					if err := write(cr); err != nil {
						return st, err
					}
				}
			}
			if len(content) > 0 && content[len(content)-1] == '\r' {
				content = content[:len(content)-1]
				if !eol {
					pendingCR = true
				}
			}
			if len(content) > 0 {
				if inHeader && !st.Header8bit {
					for _, c := range content {
						if c >= 0x80 {
							st.Header8bit = true
							break
						}
					}
				}
				if err := write(content); err != nil {
					return st, err
				}
			}
			if eol {
				if err := write(crlf); err != nil {
					return st, err
				}
				if kind == header.Body {
					body++
				}
				atLineStart = true
			} else {
				atLineStart = false
			}
		}
		if rerr == bufio.ErrBufferFull {
			continue
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return st, rerr
		}
	}
	if !atLineStart {
		if err := write(crlf); err != nil {
			return st, err
		}
	}
	if inHeader && bodyLines >= 0 {
		if err := write(crlf); err != nil { // all header: the empty line after it
			return st, err
		}
	}
	return st, nil
}

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}

// NetForm converts a message file to POP3's network form piece by piece,
// into a caller's buffer: the bytes CopyCRLF(w, r, DotStuff, -1) writes,
// without its per-line writes and header parsing (RETR's path, where the
// whole file is sent). The zero value converts without dot-stuffing.
type NetForm struct {
	DotStuff bool
	midLine  bool // the last byte appended was not a line end
	lastCR   bool // the last input byte was CR
}

// Append appends the network form of p, the next piece of the file, to dst.
func (c *NetForm) Append(dst, p []byte) []byte {
	for len(p) > 0 {
		if !c.midLine && c.DotStuff && p[0] == '.' {
			dst = append(dst, '.')
		}
		c.midLine = true
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.lastCR = p[len(p)-1] == '\r'
			return append(dst, p...)
		}
		dst = append(dst, p[:i]...)
		if i > 0 && p[i-1] != '\r' || i == 0 && !c.lastCR {
			dst = append(dst, '\r')
		}
		dst = append(dst, '\n')
		c.midLine, c.lastCR = false, false
		p = p[i+1:]
	}
	return dst
}

// End appends what the end of the file needs: a last line without its LF
// ends in CRLF (a CR already there counts as its CR, as in CopyCRLF).
func (c *NetForm) End(dst []byte) []byte {
	if !c.midLine {
		return dst
	}
	c.midLine = false
	if c.lastCR {
		return append(dst, '\n')
	}
	return append(dst, '\r', '\n')
}

// IMAP's form of a message file: every bare LF made CRLF and nothing else
// changed, so that RFC822.SIZE (CRLFSize, or ",W=" in the name) and the
// BODY[] sent (ToCRLF) agree. Files are kept with LF line ends, as Courier
// and Dovecot keep them (Store, fromCRLF).

// ToCRLF converts bare LF to CRLF.
func ToCRLF(b []byte) []byte {
	extra := 0
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			extra++
		}
	}
	if extra == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+extra)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// CRLFSize is len(ToCRLF(content of r)), read in pieces.
func CRLFSize(r io.Reader) (int64, error) {
	buf := make([]byte, 32<<10)
	var n int64
	prevCR := false
	for {
		k, err := r.Read(buf)
		chunk := buf[:k]
		lf, crlf := bytes.Count(chunk, []byte{'\n'}), bytes.Count(chunk, []byte("\r\n"))
		if prevCR && k > 0 && chunk[0] == '\n' {
			crlf++
		}
		n += int64(k + lf - crlf)
		if k > 0 {
			prevCR = chunk[k-1] == '\r'
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// fromCRLF turns CRLF into LF for storage.
func fromCRLF(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
}
