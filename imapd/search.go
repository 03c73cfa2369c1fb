package main

import (
	"bytes"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // SEARCH TEXT in other charsets
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"postern/pkg/header"
)

func (s *session) Search(kind imapserver.NumKind, c *imap.SearchCriteria, o *imap.SearchOptions) (*imap.SearchData, error) {
	s.mb.mu.Lock()
	defer s.mb.mu.Unlock()
	defer s.mb.saveCacheIfLarge()
	var (
		seqs imap.SeqSet
		uids imap.UIDSet
		d    imap.SearchData
	)
	if info, hdr := searchNeeds(c); info || hdr {
		s.mb.prefill(s.mb.msgs, hdr)
	}
	for i, m := range s.mb.msgs {
		seq := s.tr.EncodeSeqNum(uint32(i + 1))
		if seq == 0 {
			continue
		}
		r := &msgReader{mb: s.mb, m: m}
		if !s.match(r, seq, c) {
			continue
		}
		n := seq
		if kind == imapserver.NumKindUID {
			n = uint32(m.uid)
			uids.AddNum(m.uid)
		} else {
			seqs.AddNum(seq)
		}
		if d.Min == 0 || n < d.Min {
			d.Min = n
		}
		if n > d.Max {
			d.Max = n
		}
		d.Count++
	}
	if kind == imapserver.NumKindUID {
		d.All = uids
	} else {
		d.All = seqs
	}
	return &d, nil
}

func dayOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func inDates(t, since, before time.Time) bool {
	t = dayOf(t)
	return (since.IsZero() || !t.Before(since)) && (before.IsZero() || t.Before(before))
}

func (s *session) match(r *msgReader, seq uint32, c *imap.SearchCriteria) bool {
	m := r.m
	for _, set := range c.SeqNum {
		var max uint32
		for i := len(s.mb.msgs); i > 0 && max == 0; i-- {
			max = s.tr.EncodeSeqNum(uint32(i))
		}
		ss := staticSeqSet(set, max)
		if !ss.Contains(seq) {
			return false
		}
	}
	for _, set := range c.UID {
		var max imap.UID
		if n := len(s.mb.msgs); n > 0 {
			max = s.mb.msgs[n-1].uid
		}
		if !staticUIDSet(set, max).Contains(m.uid) {
			return false
		}
	}
	for _, f := range c.Flag {
		if !hasFlag(m, f) {
			return false
		}
	}
	for _, f := range c.NotFlag {
		if hasFlag(m, f) {
			return false
		}
	}
	if !c.Since.IsZero() || !c.Before.IsZero() || c.Larger != 0 || c.Smaller != 0 {
		in, err := s.mb.info(m)
		if err != nil {
			return false
		}
		if !inDates(in.date(), c.Since, c.Before) {
			return false
		}
		if c.Larger != 0 && in.vsize <= c.Larger {
			return false
		}
		if c.Smaller != 0 && in.vsize >= c.Smaller {
			return false
		}
	}
	rawDone := false
	if len(c.Header) > 0 && c.SentSince.IsZero() && c.SentBefore.IsZero() && r.data == nil {
		// The cached header, searched as it is: no parse of every field.
		if raw, err := s.mb.headerOf(m); err == nil && raw != nil {
			for _, hc := range c.Header {
				if !matchRaw(raw, hc.Key, hc.Value) {
					return false
				}
			}
			rawDone = true
		}
	}
	if !rawDone && (len(c.Header) > 0 || !c.SentSince.IsZero() || !c.SentBefore.IsZero()) {
		h, err := r.header()
		if err != nil {
			return false
		}
		mh := mail.Header{Header: gomessage.Header{Header: h}}
		for _, hc := range c.Header {
			if !matchFields(mh.FieldsByKey(hc.Key), hc.Value) {
				return false
			}
		}
		if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
			t, err := mh.Date()
			if err != nil || !inDates(t, c.SentSince, c.SentBefore) {
				return false
			}
		}
	}
	for _, text := range c.Text {
		if !s.matchBody(r, text, true) {
			return false
		}
	}
	for _, text := range c.Body {
		if !s.matchBody(r, text, false) {
			return false
		}
	}
	for i := range c.Not {
		if s.match(r, seq, &c.Not[i]) {
			return false
		}
	}
	for i := range c.Or {
		if !s.match(r, seq, &c.Or[i][0]) && !s.match(r, seq, &c.Or[i][1]) {
			return false
		}
	}
	return true
}

func hasFlag(m *message, f imap.Flag) bool {
	if strings.EqualFold(string(f), string(flagRecent)) {
		return m.recent || m.inNew
	}
	c := lettersFor([]imap.Flag{f})
	return c != "" && m.has(c[0])
}

func matchFields(fields gomessage.HeaderFields, pattern string) bool {
	if pattern == "" {
		return fields.Len() > 0
	}
	p := strings.ToLower(pattern)
	for fields.Next() {
		v, err := fields.Text()
		if err != nil {
			v = fields.Value()
		}
		if strings.Contains(strings.ToLower(v), p) {
			return true
		}
	}
	return false
}

// matchBody looks for text in the decoded text parts (and the header when
// withHeader), case-insensitively.
func (s *session) matchBody(r *msgReader, text string, withHeader bool) bool {
	data, err := r.parsed()
	if err != nil {
		return false
	}
	e, err := gomessage.Read(bytes.NewReader(data))
	if e == nil {
		return bytes.Contains(bytes.ToLower(data), bytes.ToLower([]byte(text)))
	}
	return matchEntity(e, strings.ToLower(text), withHeader, 0)
}

func matchEntity(e *gomessage.Entity, p string, withHeader bool, depth int) bool {
	if withHeader && matchFields(e.Header.Fields(), p) {
		return true
	}
	if depth > 20 {
		return false
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			part, err := mr.NextPart()
			if err != nil {
				return false
			}
			if matchEntity(part, p, withHeader, depth+1) {
				return true
			}
		}
	}
	t, _, _ := e.Header.ContentType()
	if t != "" && !strings.HasPrefix(t, "text/") && !strings.HasPrefix(t, "message/") {
		return false
	}
	b, err := io.ReadAll(io.LimitReader(e.Body, 64<<20))
	if err != nil && len(b) == 0 {
		return false
	}
	return bytes.Contains(bytes.ToLower(b), []byte(p))
}

// searchNeeds tells whether criteria use sizes or dates (info) or the
// header, so that the files can be read ahead.
func searchNeeds(c *imap.SearchCriteria) (info, hdr bool) {
	info = !c.Since.IsZero() || !c.Before.IsZero() || c.Larger != 0 || c.Smaller != 0
	hdr = len(c.Header) > 0 || !c.SentSince.IsZero() || !c.SentBefore.IsZero()
	for i := range c.Not {
		a, b := searchNeeds(&c.Not[i])
		info, hdr = info || a, hdr || b
	}
	for i := range c.Or {
		for j := range c.Or[i] {
			a, b := searchNeeds(&c.Or[i][j])
			info, hdr = info || a, hdr || b
		}
	}
	return info, hdr
}

// matchRaw is matchFields on a raw header: the fields named key, unfolded,
// searched case-insensitively; a value with encoded words goes through
// matchFields for their decoding.
func matchRaw(raw []byte, key, pattern string) bool {
	p := []byte(strings.ToLower(pattern))
	found := false
	eachField(raw, func(name, value []byte) bool {
		if !bytes.EqualFold(name, []byte(key)) {
			return true
		}
		if len(p) == 0 {
			found = true
		} else if bytes.Contains(value, []byte("=?")) {
			var h textproto.Header
			h.Add(key, string(value))
			mh := mail.Header{Header: gomessage.Header{Header: h}}
			found = matchFields(mh.FieldsByKey(key), pattern)
		} else {
			found = bytes.Contains(bytes.ToLower(value), p)
		}
		return !found
	})
	return found
}

// eachField calls f with each field's name and unfolded value until f
// returns false; raw may go on past the header (package postern/pkg/header
// says where it ends).
func eachField(raw []byte, f func(name, value []byte) bool) {
	end, _, _ := header.End(raw, true)
	raw = raw[:end]
	var name, value []byte
	flush := func() bool {
		if name == nil {
			return true
		}
		ok := f(name, bytes.TrimSpace(value))
		name, value = nil, nil
		return ok
	}
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		var line []byte
		if i < 0 {
			line, raw = raw, nil
		} else {
			line, raw = raw[:i], raw[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if name != nil {
				value = append(value, line...)
			}
			continue
		}
		if !flush() {
			return
		}
		if c := bytes.IndexByte(line, ':'); c > 0 {
			name, value = bytes.TrimRight(line[:c], " \t"), line[c+1:len(line):len(line)] // appends copy
		}
	}
	flush()
}
