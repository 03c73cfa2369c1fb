package maildir

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// POP3ListFile is Courier's POP3 UIDL and size cache in the Maildir root.
const POP3ListFile = "courierpop3dsizelist"

// POP3Entry is one message in a courierpop3dsizelist.
type POP3Entry struct {
	Name string // cur/ file name when the list was written (matched by Base)
	Size int64  // octets with CRLF line ends
	UID  uint64 // 0 for version-0 lists: the UIDL is then the encoded file name
	UIDV uint64 // 0 for version-1 lists: UIDL "UID<n>"
	UTF8 bool   // 8-bit headers (RFC 6856)
}

// UIDL is the POP3 unique id Courier shows for the entry.
func (e *POP3Entry) UIDL() string {
	switch {
	case e.UID == 0:
		return encodeUIDL(Base(e.Name))
	case e.UIDV == 0:
		return "UID" + strconv.FormatUint(e.UID, 10)
	}
	return "UID" + strconv.FormatUint(e.UID, 10) + "-" + strconv.FormatUint(e.UIDV, 10)
}

// encodeUIDL is Courier's version-0 UIDL: the base name with bytes outside
// 0x21-0x7E and ' " + written as +XX.
func encodeUIDL(base string) string {
	var b strings.Builder
	for i := 0; i < len(base); i++ {
		c := base[i]
		if c < 0x21 || c > 0x7e || c == '\'' || c == '"' || c == '+' {
			fmt.Fprintf(&b, "+%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// POP3List is a parsed courierpop3dsizelist:
//
//	/3 NEXTUID UIDV
//	NAME SIZE UID:UIDV:UTF8
//
// Version 2 lacks ":UTF8"; version 1 is "/1 NEXTUID" and "NAME SIZE UID";
// version 0 has no header and "NAME SIZE" lines.
type POP3List struct {
	Version int
	NextUID uint64
	UIDV    uint64
	Entries []POP3Entry
}

// ParsePOP3List parses a list; ok=false when the header is not one of the
// known versions (the list is then ignored, as Courier does).
func ParsePOP3List(r io.Reader) (*POP3List, bool) {
	br := bufio.NewReader(r)
	l := &POP3List{NextUID: 1}
	first := true
	for {
		line, err := br.ReadString('\n')
		if line == "" && err != nil {
			break
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) > 4096 {
			continue
		}
		if first {
			first = false
			if strings.HasPrefix(line, "/") {
				f := strings.Fields(line[1:])
				if len(f) < 2 {
					return nil, false
				}
				v, err1 := strconv.Atoi(f[0])
				next, err2 := strconv.ParseUint(f[1], 10, 64)
				if err1 != nil || err2 != nil || v < 1 || v > 3 || next == 0 {
					return nil, false
				}
				l.Version, l.NextUID = v, next
				if v >= 2 {
					if len(f) < 3 {
						return nil, false
					}
					if l.UIDV, err1 = strconv.ParseUint(f[2], 10, 64); err1 != nil {
						return nil, false
					}
				}
				continue
			}
		}
		if e, ok := parsePOP3Line(line, l.Version); ok {
			l.Entries = append(l.Entries, e)
		}
	}
	sort.SliceStable(l.Entries, func(i, j int) bool { return Less(l.Entries[i].Name, l.Entries[j].Name) })
	return l, true
}

// parsePOP3Line splits "NAME SIZE [UIDSPEC]" from the right, since only the
// last fields are numbers.
func parsePOP3Line(line string, version int) (POP3Entry, bool) {
	var e POP3Entry
	f := strings.Split(line, " ")
	want := 3
	if version == 0 {
		want = 2
	}
	if len(f) < want {
		return e, false
	}
	name := strings.Join(f[:len(f)-want+1], " ")
	f = f[len(f)-want+1:]
	size, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || size < 0 || name == "" || strings.ContainsAny(name, "/\x00") {
		return e, false
	}
	e.Name, e.Size = name, size
	if version == 0 {
		return e, true
	}
	parts := strings.Split(f[1], ":")
	if version == 1 && len(parts) != 1 || version == 2 && len(parts) != 2 || version == 3 && len(parts) != 3 {
		return e, false
	}
	if e.UID, err = strconv.ParseUint(parts[0], 10, 64); err != nil {
		return e, false
	}
	if len(parts) > 1 {
		if e.UIDV, err = strconv.ParseUint(parts[1], 10, 64); err != nil {
			return e, false
		}
	}
	if len(parts) > 2 {
		e.UTF8 = parts[2] != "0"
	}
	return e, true
}

// ReadPOP3List reads dir's list; (nil, nil) when there is none or it is
// unusable.
func ReadPOP3List(dir string) (*POP3List, error) {
	f, err := os.Open(filepath.Join(dir, POP3ListFile))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	l, ok := ParsePOP3List(f)
	if !ok {
		return nil, nil
	}
	return l, nil
}

// Encode renders the list in version 3.
func (l *POP3List) Encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "/3 %d %d\n", l.NextUID, l.UIDV)
	for _, e := range l.Entries {
		u := 0
		if e.UTF8 {
			u = 1
		}
		fmt.Fprintf(&b, "%s %d %d:%d:%d\n", e.Name, e.Size, e.UID, e.UIDV, u)
	}
	return b.Bytes()
}

// WritePOP3List replaces dir's list (WriteFile), as Courier does.
func WritePOP3List(dir string, l *POP3List) error {
	return WriteFile(dir, POP3ListFile, l.Encode())
}

// SyncPOP3 gives the POP3 view of msgs (sorted with Less, as ListCur
// returns them): one entry per message, in order, with the UIDs and sizes
// recorded in dir's courierpop3dsizelist; new messages get NEXTUID++ and the
// list's UIDV (now, for a new list) and their size from sizeOf. The list is
// rewritten when anything changed. A failure to write it is returned with
// the entries, which are usable for this session.
func SyncPOP3(dir string, msgs []Message, now time.Time, sizeOf func(Message) (int64, bool, error)) ([]POP3Entry, error) {
	old, err := ReadPOP3List(dir)
	if err != nil {
		return nil, err
	}
	changed := false
	if old == nil {
		old = &POP3List{NextUID: 1, UIDV: uint64(now.Unix())}
		changed = true
	} else if old.Version != 3 {
		changed = true
	}
	if old.UIDV == 0 {
		old.UIDV = uint64(now.Unix())
	}
	byBase := make(map[string]*POP3Entry, len(old.Entries))
	for i := range old.Entries {
		byBase[Base(old.Entries[i].Name)] = &old.Entries[i]
	}
	out := make([]POP3Entry, 0, len(msgs))
	used := 0
	for _, m := range msgs {
		if e := byBase[Base(m.Name)]; e != nil {
			ne := *e
			if ne.Name != m.Name {
				ne.Name = m.Name
				changed = true
			}
			out = append(out, ne)
			used++
			delete(byBase, Base(m.Name))
			continue
		}
		size, utf8, err := sizeOf(m)
		if err != nil {
			continue // vanished since the listing
		}
		out = append(out, POP3Entry{Name: m.Name, Size: size, UID: old.NextUID, UIDV: old.UIDV, UTF8: utf8})
		old.NextUID++
		changed = true
	}
	if used != len(old.Entries) {
		changed = true
	}
	if !changed {
		return out, nil
	}
	return out, WritePOP3List(dir, &POP3List{Version: 3, NextUID: old.NextUID, UIDV: old.UIDV, Entries: out})
}

// POP3Size measures a message file as POP3 sends it (see CopyCRLF); utf8
// reports 8-bit bytes in the header.
func POP3Size(path string) (size int64, utf8 bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	st, err := CopyCRLF(io.Discard, f, false, -1)
	return st.Bytes, st.Header8bit, err
}
