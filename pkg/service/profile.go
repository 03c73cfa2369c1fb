package service

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// ProfileEnv names a directory in the environment: when set, Main writes a
// CPU profile of the daemon's whole life there, PROG.PID.cpu.pprof, when it
// exits normally (max_idle, SIGTERM). Off by default; for benchmarks
// (docs/bench.md). The name has no POSTERN_ prefix because master strips
// those from its children's environment.
const ProfileEnv = "CPUPROFILE_DIR"

// StartProfile starts the CPU profile ProfileEnv asks for and returns the
// function that stops and writes it; without ProfileEnv both do nothing.
// A profile that cannot be written is reported on standard error and
// otherwise ignored: profiling never stops a daemon.
func StartProfile(prog string) (stop func()) {
	dir := os.Getenv(ProfileEnv)
	if dir == "" {
		return func() {}
	}
	name := filepath.Join(dir, fmt.Sprintf("%s.%d.cpu.pprof", filepath.Base(prog), os.Getpid()))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0644)
	if err == nil {
		err = pprof.StartCPUProfile(f)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: warning: cpu profile: %v\n", prog, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
