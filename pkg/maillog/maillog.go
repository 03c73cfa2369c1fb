// Package maillog writes Postfix-shaped log lines.
//
// Every Postern process logs one line per event as `syslog_name/PROGRAM[PID]: text`, with the
// severity prefixes Postfix uses inside the text (`warning: `, `error: `, `fatal: `, `panic: `;
// info has none). Lines go to one destination, chosen as Postfix 3.4+ does:
//
//   - maillog_file, when set: each line is appended with one O_APPEND write, so lines of many
//     processes never interleave, in postlogd's shape `Mmm dd HH:MM:SS host tag[pid]: text`;
//     `/dev/stdout` and `/dev/stderr` are accepted too. A process that may not open the file
//     (a command run by an ordinary user: postdrop, postqueue, sendmail) sends each line
//     instead as one datagram to the postlog service ($queue_directory/public/postlog),
//     whose postlogd appends it (Postfix 3.4+'s msg_logger); lines longer than MaxText are
//     cut. When that socket cannot be reached either, lines go to standard error;
//   - otherwise syslog through /dev/log (facility mail), when that socket exists;
//   - otherwise standard error (master's, which children inherit), in the maillog_file shape.
//
// pflogsumm and admins' grep habits key on these shapes, so they live here and nowhere else.
package maillog

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options selects the destination and the tag.
type Options struct {
	SyslogName  string // syslog_name, default "postfix"
	MaillogFile string // maillog_file
	Hostname    string // myhostname; its first label appears in file lines
	// PostlogSocket is the postlog service's datagram socket, used when maillog_file is set
	// but cannot be opened; "" never uses it (postlogd itself).
	PostlogSocket string
}

// MaxText bounds the text of one line sent to postlogd, as Postfix's msg_logger does
// (MSG_LOGGER_RECLEN); MaxRecord bounds a whole record (stamp, host, tag and text) that
// postlogd accepts.
const (
	MaxText   = 2000
	MaxRecord = 4096
)

// Logger is safe for concurrent use.
type Logger struct {
	mu      sync.Mutex
	tag     string // e.g. "postfix/smtpd"
	pid     int
	host    string
	file    *os.File
	syslog  net.Conn
	postlog net.Conn // postlogd's socket, when maillog_file could not be opened
	stderr  bool
	program string
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// New makes a logger for program (e.g. "smtpd").
func New(program string, o Options) *Logger {
	name := o.SyslogName
	if name == "" {
		name = "postfix"
	}
	host := o.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	if i := strings.IndexByte(host, '.'); i > 0 {
		host = host[:i]
	}
	l := &Logger{tag: name + "/" + program, pid: os.Getpid(), host: host, program: program, Now: time.Now}
	switch {
	case o.MaillogFile == "/dev/stdout":
		l.file = os.Stdout
	case o.MaillogFile == "/dev/stderr":
		l.file = os.Stderr
	case o.MaillogFile != "" && os.Getenv(InheritedEnv) == o.MaillogFile:
		// master opened maillog_file (as root) and made it our standard error, so an
		// unprivileged daemon can log there without write permission on the file.
		l.file = os.Stderr
	case o.MaillogFile != "":
		f, err := os.OpenFile(o.MaillogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0644)
		switch {
		case err == nil:
			l.file = f
		case o.PostlogSocket != "":
			if c, perr := net.Dial("unixgram", o.PostlogSocket); perr == nil {
				l.postlog = c
				break
			}
			fallthrough
		default:
			l.stderr = true
			l.Warn("open maillog_file %s: %v", o.MaillogFile, err)
		}
	default:
		if c, err := net.Dial("unixgram", "/dev/log"); err == nil {
			l.syslog = c
		} else {
			l.stderr = true
		}
	}
	return l
}

// InheritedEnv names the environment variable through which master tells its children that
// their standard error is maillog_file (its value is the file name).
const InheritedEnv = "POSTERN_MAILLOG_STDERR"

// File returns the open maillog_file, or nil when logging goes elsewhere. master hands it to
// its children as their standard error.
func (l *Logger) File() *os.File {
	if l.file == os.Stdout || l.file == os.Stderr {
		return nil
	}
	return l.file
}

// ToStderr tells whether lines end up on standard error, so a command need not print its
// messages twice.
func (l *Logger) ToStderr() bool { return l.stderr || l.file == os.Stderr }

// Close releases the log file or syslog connection.
func (l *Logger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.syslog != nil {
		l.syslog.Close()
		l.syslog = nil
	}
	if l.postlog != nil {
		l.postlog.Close()
		l.postlog = nil
		l.stderr = true
	}
	if f := l.file; f != nil && f != os.Stdout && f != os.Stderr {
		l.file = nil
		l.stderr = true
		return f.Close()
	}
	return nil
}

// FromConfig builds a logger from main.cf values read through get (config.Get).
func FromConfig(program string, get func(string) string) *Logger {
	return New(program, ConfigOptions(get))
}

// CheckFile is Postfix's maillog_file_prefixes safety check: a maillog_file that begins with
// none of the prefixes (comma or space separated, compared as strings) is refused, so one
// mistyped value cannot make master append to an arbitrary file as root. An empty
// maillog_file (syslog) always passes.
func CheckFile(file, prefixes string) error {
	if file == "" {
		return nil
	}
	for _, p := range strings.FieldsFunc(prefixes, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if strings.HasPrefix(file, p) {
			return nil
		}
	}
	return fmt.Errorf("maillog_file value '%s' does not match any prefix in maillog_file_prefixes", file)
}

// ConfigOptions are the Options main.cf values read through get (config.Get) stand for.
func ConfigOptions(get func(string) string) Options {
	o := Options{SyslogName: get("syslog_name"), MaillogFile: get("maillog_file"), Hostname: get("myhostname")}
	if name := get("postlog_service_name"); name != "" && get("queue_directory") != "" {
		o.PostlogSocket = filepath.Join(get("queue_directory"), "public", name)
	}
	return o
}

// Program returns the program name this logger tags lines with.
func (l *Logger) Program() string { return l.program }

// Tag returns "syslog_name/program".
func (l *Logger) Tag() string { return l.tag }

// syslog severities, facility mail (2).
const (
	sevErr     = 3
	sevWarning = 4
	sevInfo    = 6
	facMail    = 2 << 3
)

// lineBreaks turns CR and LF into spaces; built once (a Replacer per line was a few per cent
// of a busy daemon's CPU).
var lineBreaks = strings.NewReplacer("\n", " ", "\r", " ")

func (l *Logger) emit(sev int, prefix, format string, args []any) {
	text := prefix + fmt.Sprintf(format, args...)
	// One event, one line: a stray newline would split the line for every parser downstream.
	if strings.ContainsAny(text, "\r\n") {
		text = lineBreaks.Replace(text)
	}
	now := l.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.syslog != nil {
		msg := fmt.Sprintf("<%d>%s %s[%d]: %s", facMail|sev, now.Format(time.Stamp), l.tag, l.pid, text)
		if _, err := l.syslog.Write([]byte(msg)); err == nil {
			return
		}
	}
	if l.postlog != nil {
		if len(text) > MaxText {
			text = text[:MaxText]
		}
		rec := fmt.Sprintf("%s %s %s[%d]: %s", now.Format("Jan 02 15:04:05"), l.host, l.tag, l.pid, text)
		// postlogd not reading (master down, socket buffer full): do not hang, say it on stderr.
		l.postlog.SetWriteDeadline(now.Add(time.Second))
		if _, err := l.postlog.Write([]byte(rec)); err == nil {
			return
		}
	}
	line := fmt.Sprintf("%s %s %s[%d]: %s\n", now.Format("Jan 02 15:04:05"), l.host, l.tag, l.pid, text)
	if l.file != nil {
		l.file.Write([]byte(line))
		return
	}
	os.Stderr.Write([]byte(line))
}

// Info logs an informational event (no prefix).
func (l *Logger) Info(format string, args ...any) { l.emit(sevInfo, "", format, args) }

// Printf is Info, so a Logger can serve libraries that want a Printf logger.
func (l *Logger) Printf(format string, args ...any) { l.emit(sevInfo, "", format, args) }

// Println logs its operands like fmt.Sprintln, without the newline.
func (l *Logger) Println(args ...any) {
	l.emit(sevInfo, "", "%s", []any{strings.TrimSuffix(fmt.Sprintln(args...), "\n")})
}

// Warn logs "warning: ...".
func (l *Logger) Warn(format string, args ...any) { l.emit(sevWarning, "warning: ", format, args) }

// Error logs "error: ...".
func (l *Logger) Error(format string, args ...any) { l.emit(sevErr, "error: ", format, args) }

// Fatal logs "fatal: ..." and exits 1; master restarts a daemon that dies this way.
func (l *Logger) Fatal(format string, args ...any) {
	l.emit(sevErr, "fatal: ", format, args)
	os.Exit(1)
}

// Panic logs "panic: ..." and exits 2.
func (l *Logger) Panic(format string, args ...any) {
	l.emit(sevErr, "panic: ", format, args)
	os.Exit(2)
}

// Append writes one record that postlogd received (`Mmm dd HH:MM:SS host tag[pid]: text`,
// formatted by the sender) to this logger's file, as one line: it is cut to MaxRecord bytes
// and its CR, LF and NUL bytes become spaces, so that no sender can add lines of its own
// making; an empty record is dropped. Without a file (maillog_file removed by a reload while the sender still had it)
// the record goes to standard error.
func (l *Logger) Append(rec []byte) error {
	if len(rec) > MaxRecord {
		rec = rec[:MaxRecord]
	}
	line := make([]byte, 0, len(rec)+1)
	for _, c := range rec {
		if c == '\n' || c == '\r' || c == 0 {
			c = ' '
		}
		line = append(line, c)
	}
	line = []byte(strings.TrimRight(string(line), " "))
	if len(line) == 0 {
		return nil // nothing to say, and no empty line either
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		_, err := l.file.Write(line)
		return err
	}
	_, err := os.Stderr.Write(line)
	return err
}

// FormatDelay formats seconds as Postfix's format_tv with two significant digits and at most two
// decimals: 0.05, 0.1, 1.2, 3, 12, 345; below 0.005 prints 0.
func FormatDelay(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s < 0.005:
		return "0"
	case s < 0.995:
		return trimZeros(fmt.Sprintf("%.2f", s))
	case s < 9.95:
		return trimZeros(fmt.Sprintf("%.1f", s))
	default:
		return fmt.Sprintf("%.0f", s)
	}
}

func trimZeros(v string) string {
	if strings.Contains(v, ".") {
		v = strings.TrimRight(v, "0")
		v = strings.TrimSuffix(v, ".")
	}
	return v
}
