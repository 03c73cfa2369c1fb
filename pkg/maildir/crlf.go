package maildir

import (
	"bufio"
	"io"
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
// that many body lines (POP3 TOP); -1 copies everything.
//
// The size POP3 LIST and IMAP RFC822.SIZE report is Bytes with dotStuff
// false, so sizes and transfers always agree.
func CopyCRLF(w io.Writer, r io.Reader, dotStuff bool, bodyLines int) (CRLFStats, error) {
	var st CRLFStats
	br := bufio.NewReaderSize(r, 32<<10)
	write := func(b []byte) error {
		n, err := w.Write(b)
		st.Bytes += int64(n)
		return err
	}
	crlf, dot, cr := []byte("\r\n"), []byte("."), []byte("\r")
	atLineStart, lineHasContent, pendingCR := true, false, false
	inHeader, body := true, 0
	for {
		chunk, rerr := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if atLineStart {
				if !inHeader && bodyLines >= 0 && body >= bodyLines {
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
					lineHasContent = true
				}
			}
			if len(content) > 0 && content[len(content)-1] == '\r' {
				content = content[:len(content)-1]
				if !eol {
					pendingCR = true
				}
			}
			if len(content) > 0 {
				lineHasContent = true
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
				if inHeader {
					if !lineHasContent {
						inHeader = false
					}
				} else {
					body++
				}
				atLineStart, lineHasContent = true, false
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
	return st, nil
}
