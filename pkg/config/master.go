package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Service is one master.cf entry.
type Service struct {
	Name, Type string // e.g. "smtp","inet"; "cleanup","unix"; inet names may be "127.0.0.1:2525", "[::1]:25", "2525"
	// '-' resolved to defaults: private y (inet: always n), unpriv y, chroot n.
	Private, Unpriv, Chroot bool
	Wakeup                  int  // seconds, 0 = never ("-")
	WakeupOnUse             bool // "N?": only after the service was used
	MaxProc                 int  // '-' = default_process_limit; 0 = unlimited
	Command                 string
	// Args are the command's arguments with "{ arg with spaces }" unwrapped and
	// "-o { name = value }" / "-oname=value" normalized to "-o", "name=value".
	Args      []string
	Overrides [][2]string // the -o pairs in order (also still present in Args)
	Line      int         // line number of the entry in master.cf
}

// Key returns "name/type".
func (s Service) Key() string { return s.Name + "/" + s.Type }

// LoadMaster reads dir/master.cf. Duplicate name+type: the last entry wins (at the position of
// the first). c supplies default_process_limit (nil: 100).
func LoadMaster(dir string, c *Config) ([]Service, error) {
	path := filepath.Join(dir, "master.cf")
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		return nil, err
	}
	defer f.Close()
	s, err := ParseMaster(f, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return s, nil
}

// splitMasterWords splits a logical master.cf line into whitespace-separated words; a word
// starting with '{' extends to the matching '}' (Postfix 3.0 "{ text with spaces }").
// Grouped words are returned with their braces; see unbrace.
func splitMasterWords(s string) ([]string, error) {
	var out []string
	i := 0
	for i < len(s) {
		if isSpace(s[i]) {
			i++
			continue
		}
		start := i
		if s[i] == '{' {
			j := matching(s[i:], '{', '}')
			if j < 0 {
				return nil, fmt.Errorf("missing '}' in %q", truncate(s[i:], 40))
			}
			i += j + 1
			if i < len(s) && !isSpace(s[i]) {
				return nil, fmt.Errorf("text after '}' in %q", truncate(s[start:], 40))
			}
			out = append(out, s[start:i])
			continue
		}
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		out = append(out, s[start:i])
	}
	return out, nil
}

func isBraced(w string) bool { return len(w) >= 2 && w[0] == '{' && w[len(w)-1] == '}' }

// unbrace removes "{ }" around a grouped word and trims the whitespace inside.
func unbrace(w string) string {
	if isBraced(w) {
		return strings.TrimSpace(w[1 : len(w)-1])
	}
	return w
}

func parseMasterBool(v, field string, def bool) (bool, error) {
	switch v {
	case "-":
		return def, nil
	case "y":
		return true, nil
	case "n":
		return false, nil
	}
	return false, fmt.Errorf("field %q: bad value: %q", field, v)
}

// ParseMaster parses master.cf text. c supplies default_process_limit (nil: 100).
func ParseMaster(r io.Reader, c *Config) ([]Service, error) {
	lines, _, err := readLogical(r)
	if err != nil {
		return nil, err
	}
	defProc := 100
	if c != nil {
		if n := c.Int("default_process_limit"); n >= 0 && n <= 1<<31-1 {
			defProc = int(n)
		}
	}
	var out []Service
	index := map[string]int{}
	for _, l := range lines {
		s, err := parseMasterLine(l.text, defProc)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", l.line, err)
		}
		s.Line = l.line
		if i, ok := index[s.Key()]; ok {
			out[i] = s
			continue
		}
		index[s.Key()] = len(out)
		out = append(out, s)
	}
	return out, nil
}

func parseMasterLine(text string, defProc int) (Service, error) {
	var s Service
	words, err := splitMasterWords(text)
	if err != nil {
		return s, err
	}
	if len(words) < 8 {
		return s, fmt.Errorf("bad field count: %d, expected at least 8", len(words))
	}
	for i := 0; i < 8; i++ {
		if isBraced(words[i]) {
			return s, fmt.Errorf("field %d: unexpected '{'", i+1)
		}
	}
	s.Name, s.Type = words[0], words[1]
	switch s.Type {
	case "inet", "unix", "unix-dgram", "fifo", "pass":
	default:
		return s, fmt.Errorf("field \"type\": bad value: %q", s.Type)
	}
	if s.Name == "-" || s.Name == "" {
		return s, fmt.Errorf("field \"service\": bad value: %q", s.Name)
	}
	if s.Private, err = parseMasterBool(words[2], "private", s.Type != "inet"); err != nil {
		return s, err
	}
	if s.Type == "inet" {
		s.Private = false // inet services cannot be private
	}
	if s.Unpriv, err = parseMasterBool(words[3], "unprivileged", true); err != nil {
		return s, err
	}
	if s.Chroot, err = parseMasterBool(words[4], "chroot", false); err != nil {
		return s, err
	}
	if w := words[5]; w != "-" {
		if strings.HasSuffix(w, "?") {
			s.WakeupOnUse = true
			w = w[:len(w)-1]
		}
		n, err := strconv.Atoi(w)
		if err != nil || n < 0 || !allDigits(w) {
			return s, fmt.Errorf("field \"wakeup\": bad value: %q", words[5])
		}
		s.Wakeup = n
	}
	if w := words[6]; w == "-" {
		s.MaxProc = defProc
	} else {
		n, err := strconv.Atoi(w)
		if err != nil || n < 0 || !allDigits(w) {
			return s, fmt.Errorf("field \"process_limit\": bad value: %q", w)
		}
		s.MaxProc = n
	}
	s.Command = words[7]
	rest := words[8:]
	for i := 0; i < len(rest); i++ {
		w := rest[i]
		var pair string
		switch {
		case w == "-o":
			if i+1 >= len(rest) {
				s.Args = append(s.Args, w) // dangling -o: passed through, as Postfix does
				continue
			}
			i++
			pair = unbrace(rest[i])
		case strings.HasPrefix(w, "-o") && strings.Contains(w, "=") && !isBraced(w):
			pair = w[2:]
		default:
			s.Args = append(s.Args, unbrace(w))
			continue
		}
		name, value, err := SplitNameValue(pair)
		if err != nil {
			return s, fmt.Errorf("-o %s: %v", pair, err)
		}
		s.Overrides = append(s.Overrides, [2]string{name, value})
		s.Args = append(s.Args, "-o", name+"="+value)
	}
	return s, nil
}
