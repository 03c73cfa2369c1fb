package passwd

import (
	"bufio"
	"io"
	"os"
	"strings"
)

// MaxLine bounds one line of a colon file; a longer line is an error, not a truncation.
const MaxLine = 64 << 10

// ScanFile reads the colon-separated file path (passwd(5), shadow(5), a Dovecot-style
// passwd-file) and calls fn with each line split at ':' into at most n fields (n < 0: all),
// skipping empty lines and '#' comments, until fn returns true. It is the one reader of these
// files: pkg/passwd, pkg/shadow and authd's passwd-file use it.
func ScanFile(path string, n int, fn func(fields []string) (stop bool)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return scan(f, n, fn)
}

func scan(r io.Reader, n int, fn func(fields []string) (stop bool)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), MaxLine)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if fn(strings.SplitN(line, ":", n)) {
			return nil
		}
	}
	return sc.Err()
}
