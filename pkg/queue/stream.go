package queue

import "io"

// WriteLine writes one content line (without its newline) to a record stream such as the
// cleanup socket, split into L records every limit bytes exactly as File.Line splits it.
func WriteLine(w io.Writer, line []byte, limit int) error {
	if limit <= 0 {
		limit = 2048
	}
	for len(line) > limit {
		if err := WriteRecord(w, RecCont, line[:limit]); err != nil {
			return err
		}
		line = line[limit:]
	}
	return WriteRecord(w, RecNorm, line)
}
