package main

import (
	"bufio"
	"bytes"
	"io"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"postern/pkg/header"
	"postern/pkg/maildir"
)

// msgReader gives a message's content as clients see it (CRLF line
// ends), read at most once per command.
type msgReader struct {
	mb   *mailbox
	m    *message
	data []byte
	sep  []byte // data with an empty line after the header (see parsed)
	hdr  *textproto.Header
	err  error
}

func (r *msgReader) content() ([]byte, error) {
	if r.data != nil || r.err != nil {
		return r.data, r.err
	}
	f, err := r.mb.open(r.m)
	if err != nil {
		r.err = err
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		r.err = err
		return nil, err
	}
	r.data = maildir.ToCRLF(b)
	if in, ok := r.mb.cache.m[r.m.base]; !ok || (in.hdr == nil && !in.hdrBig) {
		if fi, err := f.Stat(); err == nil {
			r.mb.cache.put(r.m.base, infoOf(b, len(r.data), fi.ModTime().Unix()))
		}
	}
	return r.data, nil
}

// parsed is the content as go-message and go-imap parse it. Their header
// reader ends the header only at an empty line and gives up on a line
// that is not a field, so a message whose header ends at a non-header line
// (package postern/pkg/header: mail stored so by older Postern versions or
// other MTAs) is given to them with the missing empty line put where its
// header ends. BODY[HEADER] is then the header lines and a CRLF, as RFC
// 3501 has the header section end with its delimiting blank line (Dovecot
// likewise always ends HEADER.FIELDS with one), BODY[TEXT] starts at the
// first body line, and ENVELOPE, BODYSTRUCTURE and SEARCH agree with that
// split. BODY[] and RFC822.SIZE stay the file as it is.
func (r *msgReader) parsed() ([]byte, error) {
	if r.sep != nil {
		return r.sep, nil
	}
	data, err := r.content()
	if err != nil {
		return nil, err
	}
	r.sep = header.WithSeparator(data)
	return r.sep, nil
}

// header reads only the header unless the content is already in hand.
func (r *msgReader) header() (textproto.Header, error) {
	if r.hdr != nil {
		return *r.hdr, nil
	}
	var raw []byte
	if r.data != nil {
		raw = r.data
	} else if c, err := r.mb.headerOf(r.m); err == nil && c != nil {
		raw = c
	} else {
		f, err := r.mb.open(r.m)
		if err != nil {
			return textproto.Header{}, err
		}
		defer f.Close()
		// A header larger than this is cut: what fits still gives an envelope.
		if raw, err = io.ReadAll(io.LimitReader(f, 1<<20)); err != nil {
			return textproto.Header{}, err
		}
	}
	h := parseHeader(raw)
	r.hdr = &h
	return h, nil
}

// parseHeader parses the header at the start of raw (package
// postern/pkg/header decides where it ends). What go-message still refuses
// leaves the fields before it.
func parseHeader(raw []byte) textproto.Header {
	end, _, _ := header.End(raw, true)
	hb := raw[:end]
	if end > 0 && raw[end-1] != '\n' {
		hb = append(bytes.Clone(hb), '\n')
	}
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(hb)))
	return h
}

func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, o *imap.FetchOptions) error {
	markSeen := false
	if !s.ro {
		for _, bs := range o.BodySection {
			markSeen = markSeen || !bs.Peek
		}
		for _, bs := range o.BinarySection {
			markSeen = markSeen || !bs.Peek
		}
	}
	if !markSeen && metaOnly(o) {
		return s.fetchMeta(w, numSet, o)
	}
	s.mb.mu.Lock()
	defer s.mb.mu.Unlock()
	defer s.mb.saveCacheIfLarge()
	if o.RFC822Size || o.InternalDate || o.Envelope {
		var msgs []*message
		s.forEach(numSet, func(_ uint32, m *message) error {
			msgs = append(msgs, m)
			return nil
		})
		s.mb.prefill(msgs, o.Envelope)
	}
	return s.forEach(numSet, func(seq uint32, m *message) error {
		flags := o.Flags
		if markSeen && !m.has('S') {
			if err := s.mb.setLetters(m, m.letters+"S"); err == nil {
				s.mb.tracker.QueueMessageFlags(s.serverSeq(m), m.uid, m.flags(), s.tr)
				flags = true // RFC 3501 6.4.5: report the implied \Seen
			}
		}
		return s.fetchOne(w.CreateMessage(seq), m, o, flags)
	})
}

func (s *session) fetchOne(w *imapserver.FetchResponseWriter, m *message, o *imap.FetchOptions, flags bool) error {
	r := &msgReader{mb: s.mb, m: m}
	if o.UID {
		w.WriteUID(m.uid)
	}
	if flags {
		w.WriteFlags(m.flags())
	}
	if o.InternalDate || o.RFC822Size {
		in, err := s.mb.info(m)
		if err != nil {
			w.Close()
			return nil // gone meanwhile: the next poll reports the EXPUNGE
		}
		if o.InternalDate {
			w.WriteInternalDate(in.date())
		}
		if o.RFC822Size {
			w.WriteRFC822Size(in.vsize)
		}
	}
	if o.Envelope {
		h, err := r.header()
		if err != nil {
			return w.Close()
		}
		w.WriteEnvelope(imapserver.ExtractEnvelope(h))
	}
	if o.BodyStructure != nil {
		data, err := r.parsed()
		if err != nil {
			return w.Close()
		}
		w.WriteBodyStructure(imapserver.ExtractBodyStructure(bytes.NewReader(data)))
	}
	for _, bs := range o.BodySection {
		var part []byte
		if bs.Specifier == imap.PartSpecifierNone && len(bs.Part) == 0 {
			data, err := r.content()
			if err != nil {
				return w.Close()
			}
			part = partial(data, bs.Partial) // BODY[], RFC822: the file as it is
		} else {
			data, err := r.parsed()
			if err != nil {
				return w.Close()
			}
			part = imapserver.ExtractBodySection(bytes.NewReader(data), bs)
		}
		if err := writeLiteral(w.WriteBodySection(bs, int64(len(part))), part); err != nil {
			return err
		}
	}
	for _, bs := range o.BinarySection {
		data, err := r.parsed()
		if err != nil {
			return w.Close()
		}
		part := imapserver.ExtractBinarySection(bytes.NewReader(data), bs)
		if err := writeLiteral(w.WriteBinarySection(bs, int64(len(part))), part); err != nil {
			return err
		}
	}
	for _, bs := range o.BinarySectionSize {
		data, err := r.parsed()
		if err != nil {
			return w.Close()
		}
		w.WriteBinarySectionSize(bs, imapserver.ExtractBinarySectionSize(bytes.NewReader(data), bs))
	}
	return w.Close()
}

// partial is the <offset.size> part of b (RFC 3501 6.4.5).
func partial(b []byte, p *imap.SectionPartial) []byte {
	if p == nil {
		return b
	}
	if p.Offset >= int64(len(b)) {
		return nil
	}
	return b[p.Offset:min(p.Offset+p.Size, int64(len(b)))]
}

func writeLiteral(wc io.WriteCloser, b []byte) error {
	_, err := wc.Write(b)
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}
