package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"postern/pkg/config"
	"postern/pkg/getopt"
	"postern/pkg/header"
	"postern/pkg/printable"
	"postern/pkg/queue"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = "usage: postcat [-b (body text)] [-c config_dir] [-d (decimal record type)] [-e (envelope records)] [-h (header text)] [-q (access queue)] [-v] [file(s)...]"

// What to print.
const (
	printEnv = 1 << iota
	printHeader
	printBody
	printOffset
	printDecimal
	searchQueue
	raw
)

// The sections of a queue file, as the reader walks them.
const (
	stateEnv    = iota // initial or extracted envelope
	stateHeader        // primary message header
	stateBody          // the rest of the content
)

// queueNames are searched in this order with -q, as Postfix does.
var queueNames = []string{queue.Maildrop, queue.Incoming, queue.Active, queue.Deferred, queue.Hold, "saved"}

// recordNames are Postfix's names of the record types (rec_type_name).
var recordNames = map[byte]string{
	'C': "message_size", 'T': "message_arrival_time", 'c': "queue_file_create_time",
	'F': "sender_fullname", 'I': "content_inspector", 'L': "content_filter", 'S': "sender",
	'D': "done_recipient", '/': "canceled_recipient", 'R': "recipient", 'O': "original_recipient",
	'W': "warning_message_time", 'A': "named_attribute", 'p': "pointer_record", 'K': "killed_record",
	'M': "message_content", 'N': "regular_text", 'w': "padding", 'X': "extracted_info",
	'r': "return_receipt", 'e': "errors_to", 'P': "priority", 'V': "verp_delimiters",
	'E': "message_end", '>': "redirect_to", 'f': "flags", '<': "dsn_return_flags",
	'i': "dsn_envelope_id", 'o': "dsn_original_recipient", 'n': "dsn_notify_flags",
}

func recordName(t byte) string {
	if n, ok := recordNames[t]; ok {
		return n
	}
	return "unknown_record_type"
}

// envelopeTypes are the record types a queue file may start with (REC_TYPE_ENVELOPE).
const envelopeTypes = "MCTcFILSDRO/WVA>K<ion"

type fatalError struct{}

type postcat struct {
	flags   int
	verbose bool
	start   int64 // -s: skip this many bytes
	out     *bufio.Writer
	stderr  io.Writer
}

func (p *postcat) fatalf(format string, a ...any) {
	p.out.Flush()
	fmt.Fprintf(p.stderr, "postcat: fatal: "+format+"\n", a...)
	panic(fatalError{})
}

func (p *postcat) warnf(format string, a ...any) {
	p.out.Flush()
	fmt.Fprintf(p.stderr, "postcat: warning: "+format+"\n", a...)
}

// run is postcat without the process exit; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (status int) {
	p := &postcat{out: bufio.NewWriter(stdout), stderr: stderr}
	defer p.out.Flush()
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fatalError); !ok {
				panic(r)
			}
			status = 1
		}
	}()
	configDir := ""
	files, err := getopt.Parse(args, "bc:dehoqrs:v", func(c byte, v string) error {
		switch c {
		case 'b':
			p.flags |= printBody
		case 'd':
			p.flags |= printDecimal
		case 'e':
			p.flags |= printEnv
		case 'h':
			p.flags |= printHeader
		case 'o':
			p.flags |= printOffset
		case 'q':
			p.flags |= searchQueue
		case 'r':
			p.flags |= raw
		case 'v':
			p.verbose = true
		case 'c':
			configDir = v
		case 's':
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || strings.TrimLeft(v, "0123456789") != "" {
				p.fatalf("bad offset: %s", v)
			}
			p.start = n
		}
		return nil
	})
	if err != nil {
		p.fatalf("%s", usage)
	}
	if p.flags&(printEnv|printHeader|printBody) == 0 {
		p.flags |= printEnv | printHeader | printBody
	}
	cfg, err := config.Load(config.Dir(configDir))
	if err != nil {
		p.fatalf("%v", err)
	}

	switch {
	case len(files) == 0:
		p.cat(stdin, "stdin")
	case p.flags&searchQueue != 0:
		qdir := cfg.Get("queue_directory")
		if fi, err := os.Stat(qdir); err != nil || !fi.IsDir() {
			if err == nil {
				err = syscall.ENOTDIR
			}
			p.fatalf("chdir %s: %s", qdir, printable.Strerror(err))
		}
		q := queue.New(qdir)
		for _, id := range files {
			if !queue.ValidID(id) {
				p.fatalf("bad mail queue ID: %s", id)
			}
			f, name, err := openQueueFile(q, id)
			if err != nil {
				p.fatalf("open queue file %s: %s", id, printable.Strerror(err))
			}
			p.cat(f, name)
			f.Close()
		}
	default:
		for _, name := range files {
			f, err := os.Open(name)
			if err != nil {
				p.fatalf("open %s: %s", name, printable.Strerror(err))
			}
			p.cat(f, name)
			f.Close()
		}
	}
	return 0
}

// openQueueFile looks for id in each queue (twice: the file may move between queues while
// it is being looked for) and returns it with its name relative to the queue directory, as
// Postfix's postcat shows it ("hold/ID", "deferred/A/ID").
func openQueueFile(q *queue.Queue, id string) (*os.File, string, error) {
	var last error
	for try := 0; try < 2; try++ {
		for _, qn := range queueNames {
			path := q.Path(qn, id)
			if qn == "saved" {
				path = filepath.Join(q.Dir, qn, id)
			}
			f, err := os.Open(path)
			if err == nil {
				rel, rerr := filepath.Rel(q.Dir, path)
				if rerr != nil {
					rel = path
				}
				return f, rel, nil
			}
			last = err
		}
	}
	return nil, "", last
}

// asctime formats a time as asctime(localtime()) does, newline included.
func asctime(sec int64) string {
	return time.Unix(sec, 0).Format("Mon Jan _2 15:04:05 2006") + "\n"
}

// atol reads the leading decimal number of s, as atol(3) does (0 when there is none).
func atol(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, _ := strconv.ParseInt(s[:end], 10, 64)
	return n
}

// cat prints one queue file as Postfix's postcat does: envelope records as "name: value",
// the message content as text, with "*** ... ***" markers between the sections.
func (p *postcat) cat(r io.Reader, name string) {
	flags := p.flags
	var seeker io.Seeker
	if s, ok := r.(io.Seeker); ok {
		seeker = s
	}
	if p.start > 0 {
		if seeker != nil {
			if _, err := seeker.Seek(p.start, io.SeekStart); err != nil {
				p.fatalf("%s: seek to %d: %s", name, p.start, printable.Strerror(err))
			}
		} else if n, _ := io.CopyN(io.Discard, r, p.start); n < p.start {
			p.fatalf("%s: skip %d bytes failed after %d", name, p.start, n)
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if p.start == 0 {
		if b, err := br.Peek(1); err == nil && !strings.ContainsRune(envelopeTypes, rune(b[0])) {
			p.warnf("%s: input is not a valid queue file", name)
			return
		}
	}
	if p.start == 0 && flags&printEnv != 0 {
		fmt.Fprintf(p.out, "*** ENVELOPE RECORDS %s ***\n", name)
	}
	rr := queue.NewRecordReader(br, p.start)
	state := stateEnv
	doPrint := flags&printEnv != 0
	var prev byte
	haveSize := false
	prefix := func(off int64, typ byte) {
		if flags&printOffset != 0 {
			fmt.Fprintf(p.out, "%9d ", off)
		}
		if flags&printDecimal != 0 {
			fmt.Fprintf(p.out, "%3d ", typ)
		}
	}
	marker := func(off int64, typ byte, text string) {
		prefix(off, typ)
		fmt.Fprintf(p.out, "*** %s %s ***\n", text, name)
	}
	for {
		typ, data, off, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			p.fatalf("record read error")
		}
		text := typ == queue.RecNorm || typ == queue.RecCont
		switch {
		case text:
			if state == stateHeader && flags&(printHeader|printBody) != 0 && prev != queue.RecCont &&
				!(header.FieldName(data) > 0 || len(data) > 0 && (data[0] == ' ' || data[0] == '\t')) {
				state = stateBody
				doPrint = flags&printBody != 0
				if !doPrint && flags&printEnv == 0 {
					return // nothing left to print
				}
			}
		case typ == queue.RecMesg:
			if state != stateEnv {
				p.warnf("%s: out-of-order message content marker", name)
			}
			if flags&printEnv != 0 {
				marker(off, typ, "MESSAGE CONTENTS")
			}
			state = stateHeader
			doPrint = flags&printHeader != 0
			continue
		case typ == queue.RecXtra:
			if state != stateHeader && state != stateBody {
				p.warnf("%s: out-of-order extracted segment marker", name)
			}
			if doPrint && prev == queue.RecCont {
				p.out.WriteByte('\n')
			}
			if flags&printEnv != 0 {
				marker(off, typ, "HEADER EXTRACTED")
			}
			state = stateEnv
			doPrint = flags&printEnv != 0
			if !doPrint {
				return
			}
			continue
		case typ == queue.RecEnd:
			if state != stateEnv {
				p.warnf("%s: out-of-order message end marker", name)
			}
			if flags&printEnv != 0 {
				marker(off, typ, "MESSAGE FILE END")
			}
			if flags&raw != 0 {
				continue
			}
			return
		case typ == 'p':
			// Pointer records (Postfix's in-place edits; Postern writes none) are shown with
			// -v only, and not followed: their targets are read in file order anyway.
			if doPrint && p.verbose {
				prefix(off, typ)
				fmt.Fprintf(p.out, "%s: %s\n", recordName(typ), data)
			}
			continue
		case typ == 'w' && !p.verbose:
			continue // padding
		case typ == queue.RecSize:
			if doPrint {
				prefix(off, typ)
				fmt.Fprintf(p.out, "%s: %s\n", recordName(typ), data)
			}
			if haveSize {
				p.warnf("file contains multiple size records")
			} else {
				haveSize = true
				f := strings.Fields(string(data))
				if len(f) < 2 || atol(f[0]) <= 0 || atol(f[1]) <= 0 {
					p.warnf("invalid size record: %.100s", data)
				}
			}
			continue
		}
		if !doPrint {
			continue
		}
		prefix(off, typ)
		switch typ {
		case queue.RecTime, queue.RecWarn:
			fmt.Fprintf(p.out, "%s: %s", recordName(typ), asctime(atol(string(data))))
		case queue.RecCont:
			if state == stateEnv {
				fmt.Fprintf(p.out, "%s: ", recordName(typ)) // 'L' is content_filter there
			} else if p.verbose {
				fmt.Fprintf(p.out, "unterminated_text: ")
			}
			p.out.Write(data)
			if state == stateEnv || p.verbose || flags&printOffset != 0 {
				typ = 0 // the line is complete as printed
				p.out.WriteByte('\n')
			}
		case queue.RecNorm:
			if p.verbose {
				fmt.Fprintf(p.out, "%s: ", recordName(typ))
			}
			p.out.Write(data)
			p.out.WriteByte('\n')
		case 'w':
			fmt.Fprintf(p.out, "%s: ", recordName(typ))
			p.out.Write(data)
			p.out.WriteByte('\n')
		case queue.RecAttr:
			n, v, err := splitNameValue(string(data))
			if err != "" {
				p.warnf("%s: malformed attribute: %s: %.100s", name, err, data)
				break
			}
			if n == "create_time" {
				fmt.Fprintf(p.out, "%s: %s", n, asctime(atol(v)))
			} else {
				fmt.Fprintf(p.out, "%s: %s=%s\n", recordName(typ), n, v)
			}
		default:
			fmt.Fprintf(p.out, "%s: %s\n", recordName(typ), data)
		}
		prev = typ
	}
}

// splitNameValue splits an attribute record as Postfix's split_nameval does, with its error
// texts.
func splitNameValue(s string) (name, value, err string) {
	s = strings.TrimLeft(s, " \t\r\n")
	i := strings.IndexByte(s, '=')
	if i < 0 {
		return "", "", "missing '=' after attribute name"
	}
	name = strings.TrimRight(s[:i], " \t\r\n")
	if name == "" {
		return "", "", "missing attribute name"
	}
	return name, strings.Trim(s[i+1:], " \t\r\n"), ""
}
