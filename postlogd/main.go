package main

import (
	"postern/pkg/maillog"
	"postern/pkg/service"
)

func main() {
	// Records are read whole up to MaxRecord bytes; maillog.Append cuts and cleans them again,
	// so the bound holds whoever calls it.
	service.MainDgram("postlogd", service.Options{NoPostlog: true}, maillog.MaxRecord, func(e *service.Env) (func([]byte), error) {
		return handler(e.Log), nil
	})
}

// handler appends every record received on public/postlog to maillog_file. A record that
// cannot be written is reported once per failure kind on the daemon's own log (the same file,
// so most likely standard error): there is nothing better to do with it.
func handler(log *maillog.Logger) func([]byte) {
	var last string
	return func(rec []byte) {
		if err := log.Append(rec); err != nil && err.Error() != last {
			last = err.Error()
			log.Warn("write maillog_file: %v", err)
		}
	}
}
