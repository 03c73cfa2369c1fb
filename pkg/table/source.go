package table

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// MaxLine bounds one logical line of a source file.
const MaxLine = 1 << 20

// ReadLogical calls fn with each logical line of a Postfix source file and the number of its
// first physical line: blank lines and lines whose first non-blank character is '#' are
// skipped; a line that starts with whitespace continues the previous one (the newline is
// dropped, the continuation's leading whitespace is kept, as Postfix's readlline).
func ReadLogical(r io.Reader, fn func(text string, line int) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var cur strings.Builder
	start, n := 0, 0
	have := false
	flush := func() error {
		if !have {
			return nil
		}
		have = false
		t := strings.TrimRight(cur.String(), " \t\r\n")
		cur.Reset()
		return fn(t, start)
	}
	for {
		raw, err := br.ReadString('\n')
		if raw == "" && err != nil {
			if err == io.EOF {
				return flush()
			}
			return err
		}
		n++
		line := strings.TrimRight(raw, "\r\n")
		trimmed := strings.TrimLeft(line, " \t\r\f\v")
		switch {
		case trimmed == "" || trimmed[0] == '#':
			// Comments and blank lines do not end a logical line.
		case line[0] == ' ' || line[0] == '\t':
			if !have {
				// Postfix accepts a leading indented line as the start of an entry.
				have, start = true, n
				cur.WriteString(trimmed)
			} else {
				cur.WriteString(line)
			}
		default:
			if err := flush(); err != nil {
				return err
			}
			have, start = true, n
			cur.WriteString(line)
		}
		if cur.Len() > MaxLine {
			return fmt.Errorf("line %d: logical line longer than %d bytes", start, MaxLine)
		}
		if err == io.EOF {
			return flush()
		}
	}
}

// Entry is one key/value pair read from a source file.
type Entry struct {
	Key, Value string
	Line       int // first physical line
}

// SplitKeyValue splits a postmap source line: the key up to the first whitespace (or a
// "double-quoted key" that may contain whitespace), the value is the rest with surrounding
// whitespace removed. ok is false when either is empty.
func SplitKeyValue(text string) (key, value string, ok bool) {
	text = strings.TrimLeft(text, " \t")
	if strings.HasPrefix(text, "\"") {
		var b strings.Builder
		i := 1
		for ; i < len(text) && text[i] != '"'; i++ {
			if text[i] == '\\' && i+1 < len(text) {
				i++
			}
			b.WriteByte(text[i])
		}
		if i >= len(text) {
			return "", "", false
		}
		key, value = b.String(), text[i+1:]
		if value != "" && value[0] != ' ' && value[0] != '\t' {
			return "", "", false
		}
	} else {
		i := strings.IndexAny(text, " \t")
		if i < 0 {
			return text, "", false
		}
		key, value = text[:i], text[i:]
	}
	value = strings.Trim(value, " \t\r\n")
	return key, value, key != "" && value != ""
}

// ParseSource reads a postmap(1) source file: "key whitespace value" logical lines. Lines
// without a value are reported through warn (Postfix's text: "FILE, line N: expected format:
// key whitespace value") and skipped. Duplicates are passed on; the Builder decides.
func ParseSource(r io.Reader, file string, fn func(Entry) error, warn func(string)) error {
	return ReadLogical(r, func(text string, line int) error {
		k, v, ok := SplitKeyValue(text)
		if !ok {
			if warn != nil {
				warn(fmt.Sprintf("%s, line %d: expected format: key whitespace value", file, line))
			}
			return nil
		}
		return fn(Entry{Key: k, Value: v, Line: line})
	})
}

// Dup is the duplicate-key policy of a Builder.
type Dup int

const (
	DupWarn    Dup = iota // keep the first value, report the duplicate (default)
	DupReplace            // postmap -r: the last value wins, silently
	DupIgnore             // postmap -w: keep the first value, silently
)

// Builder collects entries for WriteDB with Postfix's key folding and duplicate rules.
type Builder struct {
	Fold   bool
	Dup    Dup
	values map[string]string
}

// NewBuilder returns an empty builder.
func NewBuilder(fold bool, dup Dup) *Builder {
	return &Builder{Fold: fold, Dup: dup, values: map[string]string{}}
}

// Put adds an entry and reports whether the key was already present and a warning is due
// (only under DupWarn).
func (b *Builder) Put(key, value string) (warnDup bool) {
	if b.Fold {
		key = strings.ToLower(key)
	}
	if _, ok := b.values[key]; ok {
		switch b.Dup {
		case DupReplace:
			b.values[key] = value
		case DupWarn:
			return true
		}
		return false
	}
	b.values[key] = value
	return false
}

// Delete removes key and reports whether it was present.
func (b *Builder) Delete(key string) bool {
	if b.Fold {
		key = strings.ToLower(key)
	}
	if _, ok := b.values[key]; !ok {
		return false
	}
	delete(b.values, key)
	return true
}

// Get returns the value stored under key (folded as Put folds it).
func (b *Builder) Get(key string) (string, bool) {
	if b.Fold {
		key = strings.ToLower(key)
	}
	v, ok := b.values[key]
	return v, ok
}

// Len is the number of entries.
func (b *Builder) Len() int { return len(b.values) }

// Load adds the entries of an existing built table (postmap -i, -d), keeping their keys as
// stored.
func (b *Builder) Load(path string) error {
	keys, values, err := ReadDB(path)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if _, ok := b.values[k]; !ok {
			b.values[k] = values[k]
		}
	}
	return nil
}

// Write builds path atomically from the entries (see WriteDB).
func (b *Builder) Write(path string, perm fs.FileMode, uid, gid int) error {
	keys := make([]string, 0, len(b.values))
	for k := range b.values {
		keys = append(keys, k)
	}
	return WriteDB(path, keys, b.values, perm, uid, gid)
}

func lower(s string) string { return strings.ToLower(s) }
