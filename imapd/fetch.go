package main

import (
	"bufio"
	"bytes"
	"io"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"
)

// msgReader gives a message's content as clients see it (CRLF line
// ends), read at most once per command.
type msgReader struct {
	mb   *mailbox
	m    *message
	data []byte
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
	r.data = toCRLF(b)
	if in, ok := r.mb.cache.m[r.m.base]; !ok || (in.hdr == nil && !in.hdrBig) {
		if fi, err := f.Stat(); err == nil {
			r.mb.cache.put(r.m.base, infoOf(b, len(r.data), fi.ModTime().Unix()))
		}
	}
	return r.data, nil
}

// header reads only the header unless the content is already in hand.
func (r *msgReader) header() (textproto.Header, error) {
	if r.hdr != nil {
		return *r.hdr, nil
	}
	var src io.Reader
	if r.data != nil {
		src = bytes.NewReader(r.data)
	} else if raw, err := r.mb.headerOf(r.m); err == nil && raw != nil {
		src = bytes.NewReader(raw)
	} else {
		f, err := r.mb.open(r.m)
		if err != nil {
			return textproto.Header{}, err
		}
		defer f.Close()
		src = f
	}
	h, err := textproto.ReadHeader(bufio.NewReader(io.LimitReader(src, 1<<20)))
	if err != nil {
		// A message without a proper header still has an (empty) envelope.
		h = textproto.Header{}
	}
	r.hdr = &h
	return h, nil
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
		data, err := r.content()
		if err != nil {
			return w.Close()
		}
		w.WriteBodyStructure(imapserver.ExtractBodyStructure(bytes.NewReader(data)))
	}
	for _, bs := range o.BodySection {
		data, err := r.content()
		if err != nil {
			return w.Close()
		}
		var part []byte
		if bs.Specifier == imap.PartSpecifierNone && len(bs.Part) == 0 && bs.Partial == nil {
			part = data
		} else {
			part = imapserver.ExtractBodySection(bytes.NewReader(data), bs)
		}
		if err := writeLiteral(w.WriteBodySection(bs, int64(len(part))), part); err != nil {
			return err
		}
	}
	for _, bs := range o.BinarySection {
		data, err := r.content()
		if err != nil {
			return w.Close()
		}
		part := imapserver.ExtractBinarySection(bytes.NewReader(data), bs)
		if err := writeLiteral(w.WriteBinarySection(bs, int64(len(part))), part); err != nil {
			return err
		}
	}
	for _, bs := range o.BinarySectionSize {
		data, err := r.content()
		if err != nil {
			return w.Close()
		}
		w.WriteBinarySectionSize(bs, imapserver.ExtractBinarySectionSize(bytes.NewReader(data), bs))
	}
	return w.Close()
}

func writeLiteral(wc io.WriteCloser, b []byte) error {
	_, err := wc.Write(b)
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}
